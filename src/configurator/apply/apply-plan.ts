/**
 * The apply sequence, given the components' merged plan: write the files, make the
 * directories and the TLS material, create the accounts, bring the services up, and (Let's
 * Encrypt) get the real certificate once nginx answers on port 80. Order matters: nginx cannot
 * start without some certificate for 443, and certbot's webroot challenge needs nginx running.
 * Nothing here knows any one component: what to write, restart or create comes from the plan.
 */
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { BACKUP_ROOT, CA_STORE_DIR, KEY_GROUP } from '../paths.js';
import type { ServerPlan } from '../components/index.js';
import type { DistributionLayout } from '../distribution.js';
import { writeFileAtomic, type WriteOutcome } from './files.js';
import { removeWithBackup, writeSymlinkAtomic } from './links.js';
import { readOwnerDatabase, type OwnerDatabase } from './owners.js';
import { deleteProsodyAccounts, ensureProsodyAccounts } from './prosody-accounts.js';
import { ensureRosterSubscriptions } from './prosody-rosters.js';
import { kernelSettingWarnings, readKernelSettings } from './kernel-settings.js';
import type { InitSystem } from '../../lib/init-systems.js';
import { affectedServices, bringUp, isInstalled } from './services.js';
import { beginApply, finishApply, servicesToRestart } from './unfinished.js';
import { ensureSelfSigned, hasAnyPair, installOwnPair, installPair, type KeyAccess, type PairOutcome } from './tls.js';
import { hasLineage, issueCertificate, type AcmeSource } from './letsencrypt.js';
import type { GeneratedFile, PlannedCertificate, PlannedDirectory, PlannedService } from '../components/types.js';
import type { ApplyOptions, ApplyReport } from './types.js';

/** `2026-11-21T14-30-05Z`: sorts by time and holds no colon (tar and scp dislike them). */
export function backupStamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** A backup directory no earlier run used: two runs within one second must not mix their backups. */
async function freshBackupDir(root: string): Promise<string> {
  const base = join(root, BACKUP_ROOT, backupStamp());
  for (let attempt = 0; ; attempt++) {
    const candidate = attempt === 0 ? base : `${base}.${attempt}`;
    if (!(await stat(candidate).then(() => true, () => false))) return candidate;
  }
}

class Run {
  readonly report: ApplyReport = { changed: [], unchanged: [], removed: [], restarted: [] };
  readonly backupDir: string;
  constructor(
    readonly options: ApplyOptions,
    readonly owners: OwnerDatabase,
    backupDir: string,
  ) {
    this.backupDir = backupDir;
  }
  /** The path on this machine of an image path. */
  at(imagePath: string): string {
    return join(this.options.root, imagePath);
  }
  record(imagePath: string, outcome: WriteOutcome): void {
    if (outcome === 'unchanged') this.report.unchanged.push(imagePath);
    else {
      this.report.changed.push(imagePath);
      this.options.log(`${outcome === 'created' ? 'created' : 'updated'} ${imagePath}`);
    }
  }
  recordPair(pair: { cert: string; key: string }, outcome: PairOutcome): void {
    this.record(pair.key, outcome.key);
    this.record(pair.cert, outcome.cert);
  }
}

async function writeGenerated(run: Run, file: GeneratedFile): Promise<void> {
  const target = run.at(file.path);
  if (file.remove) {
    if (await removeWithBackup(target, run.backupDir, run.options.root)) {
      run.report.removed.push(file.path);
      run.options.log(`removed ${file.path}`);
    }
    return;
  }
  if (file.linkTo !== undefined) {
    run.record(file.path, await writeSymlinkAtomic(target, file.linkTo, run.backupDir, run.options.root));
    return;
  }
  const owner = file.owner ?? 'root:root';
  let ids = run.owners.resolve(owner);
  if (!ids) {
    // The owning package is not installed (jicofo, the videobridge): root keeps the file private
    // until it is; a re-run after installing the package fixes the owner.
    run.options.log(`${file.path}: owner ${owner} does not exist in this image yet; owned by root for now`);
    ids = { uid: 0, gid: 0 };
  }
  const outcome = await writeFileAtomic(target, file.content, {
    mode: file.mode ?? 0o644,
    uid: ids.uid,
    gid: ids.gid,
    backupDir: run.backupDir,
    root: run.options.root,
  });
  run.record(file.path, outcome);
}

/**
 * Paths the previous plan wrote (files, certificates and their trusted copies) or its packages
 * made for its hostname, that this plan does not.
 */
function obsoletePaths(previous: ServerPlan, current: ServerPlan): string[] {
  const pathsOf = (plan: ServerPlan) => [
    ...plan.files.filter((file) => !file.remove).map((file) => file.path),
    ...plan.certificates.flatMap((certificate) => [certificate.cert, certificate.key, ...(certificate.trustedCopy ? [certificate.trustedCopy] : [])]),
    ...plan.packageFiles,
  ];
  const currentPaths = new Set(pathsOf(current));
  return pathsOf(previous).filter((path) => !currentPaths.has(path));
}

/** Makes or installs one planned certificate; Let's Encrypt's first certificate comes later, once nginx runs. */
async function makeCertificate(run: Run, certificate: PlannedCertificate, access: KeyAccess): Promise<void> {
  const { root } = run.options;
  const directory = run.at(dirname(certificate.cert));
  await mkdir(directory, { recursive: true, mode: 0o755 });
  const onDisk = { cert: run.at(certificate.cert), key: run.at(certificate.key) };
  const { source } = certificate;
  if (source.kind === 'self-signed') {
    run.recordPair(certificate, await ensureSelfSigned(onDisk, source.names, access, directory, run.backupDir, root));
  } else if (source.kind === 'own') {
    run.recordPair(certificate, await installOwnPair({ cert: source.cert, key: source.key }, onDisk, access, run.backupDir, root));
  } else if (await hasLineage(root, source)) {
    await installLiveCertificate(run, certificate, source, access);
  } else if (!(await hasAnyPair(onDisk))) {
    // nginx needs a certificate for 443 before it can serve the ACME challenge on 80.
    run.options.log(`temporary self-signed certificate for ${source.names.join(', ')} until Let's Encrypt answers`);
    run.recordPair(certificate, await ensureSelfSigned(onDisk, source.names, access, directory, run.backupDir, root));
  }
  if (certificate.trustedCopy) {
    const pem = await readFile(onDisk.cert);
    run.record(certificate.trustedCopy, await writeFileAtomic(run.at(certificate.trustedCopy), pem, { mode: 0o644, uid: 0, gid: 0, backupDir: run.backupDir, root }));
  }
}

async function installLiveCertificate(run: Run, certificate: PlannedCertificate, acme: AcmeSource, access: KeyAccess): Promise<void> {
  const outcome = await installPair(
    { cert: run.at(certificate.cert), key: run.at(certificate.key) },
    await readFile(run.at(acme.live.cert)),
    await readFile(run.at(acme.live.key)),
    access,
    run.backupDir,
    run.options.root,
  );
  run.recordPair(certificate, outcome);
}

async function ensureDirectory(run: Run, directory: PlannedDirectory): Promise<void> {
  const path = run.at(directory.path);
  await mkdir(path, { recursive: true, mode: directory.mode });
  // mkdir's mode is filtered by the umask and ignored for a directory an earlier run made.
  await chmod(path, directory.mode);
  const ids = run.owners.resolve(directory.owner);
  if (ids) await chown(path, ids.uid, ids.gid);
}

/** Adds the users that read TLS keys to the key group; returns `group:<user>` for each user changed. */
async function grantKeyAccess(run: Run, users: readonly string[]): Promise<string[]> {
  const groupText = await readFile(run.at('/etc/group'), 'utf8').catch(() => '');
  const line = groupText.split('\n').find((entry) => entry.startsWith(`${KEY_GROUP}:`));
  if (!line) return [];
  const members = new Set((line.split(':')[3] ?? '').split(',').filter(Boolean));
  const added: string[] = [];
  for (const user of users) {
    if (members.has(user) || run.owners.user(user) === undefined) continue;
    await execa('usermod', ['--append', '--groups', KEY_GROUP, user], { stdin: 'ignore' });
    run.options.log(`${user} may now read the TLS keys (group ${KEY_GROUP})`);
    added.push(`group:${user}`);
  }
  return added;
}

/**
 * Carries out `plan`. `previousPlans` are the plans of other hostnames this machine still has
 * files for (a hostname change, finished or interrupted): what they wrote and this plan does
 * not is removed (with a backup).
 */
export async function applyPlan(plan: ServerPlan, previousPlans: readonly ServerPlan[], options: ApplyOptions): Promise<ApplyReport> {
  if (options.init !== 'none' && options.root !== '/') {
    throw new Error(`init ${options.init} runs the image's services and needs root "/", not ${options.root}`);
  }
  const run = new Run(options, await readOwnerDatabase(options.root), await freshBackupDir(options.root));
  const keyAccess: KeyAccess = { mode: 0o640, uid: 0, gid: run.owners.group(KEY_GROUP) ?? 0 };
  // Before the first change: a run cut short from here on makes the next one restart everything.
  const earlierUnfinished = options.init !== 'none' && (await beginApply(options.root));
  if (earlierUnfinished) options.log('an earlier run was cut short before its services were brought up: restarting every service');
  for (const file of plan.files) await writeGenerated(run, file);

  for (const path of new Set(previousPlans.flatMap((previous) => obsoletePaths(previous, plan)))) {
    if (await removeWithBackup(run.at(path), run.backupDir, options.root)) {
      run.report.removed.push(path);
      options.log(`removed ${path} (it was for another hostname)`);
    }
  }

  for (const directory of plan.directories) await ensureDirectory(run, directory);
  for (const certificate of plan.certificates) await makeCertificate(run, certificate, keyAccess);

  if (options.init !== 'none') {
    const init: InitSystem = options.init;
    const pseudoChanges: string[] = [];
    const trustedCopies = plan.certificates.flatMap((certificate) => (certificate.trustedCopy ? [certificate.trustedCopy] : []));
    const caStoreChanged = run.report.changed.some((path) => trustedCopies.includes(path) || path.startsWith(CA_STORE_DIR));
    if (caStoreChanged || run.report.removed.length > 0) {
      const [program, ...args] = plan.distribution.caStoreUpdate;
      await execa(program!, args, { stdin: 'ignore' });
    }
    pseudoChanges.push(...(await grantKeyAccess(run, plan.keyReaders)));
    if (plan.accountStore) {
      const changedAccounts = await ensureProsodyAccounts(options.root, plan.accountStore, plan.accounts, options.log);
      pseudoChanges.push(...changedAccounts.map((jid) => `account:${jid}`));
      const deletedAccounts = await deleteProsodyAccounts(options.root, plan.accountStore, plan.retiredAccounts, options.log);
      pseudoChanges.push(...deletedAccounts.map((jid) => `account:${jid}`));
      const changedRosters = await ensureRosterSubscriptions(options.root, plan.accountStore, plan.rosterSubscriptions, options.log);
      pseudoChanges.push(...changedRosters.map((jid) => `roster:${jid}`));
    }
    for (const warning of kernelSettingWarnings(await readKernelSettings(options.root, plan.kernelSettings))) options.log(warning);

    const installed: PlannedService[] = [];
    for (const service of plan.services) if (await isInstalled(options.root, init, service.name, service.program)) installed.push(service);
    const touched = [...run.report.changed, ...run.report.removed, ...pseudoChanges];
    run.report.restarted.push(...(await bringUp(init, plan.serverUnit, installed, servicesToRestart(installed, touched, earlierUnfinished), options.log)));

    const fromAcme = plan.certificates.flatMap((certificate) => (certificate.source.kind === 'acme' ? [{ certificate, acme: certificate.source }] : []));
    for (const { certificate, acme } of fromAcme) {
      if (await hasLineage(options.root, acme)) continue;
      await issueCertificate(acme, options.log);
      const before = run.report.changed.length;
      await installLiveCertificate(run, certificate, acme, keyAccess);
      const newlyChanged = run.report.changed.slice(before);
      const reloaded = await bringUp(init, plan.serverUnit, installed, affectedServices(installed, newlyChanged), options.log);
      run.report.restarted.push(...reloaded.filter((name) => !run.report.restarted.includes(name)));
    }
    if (fromAcme.length > 0) await scheduleRenewal(init, options.root, plan.distribution.certbotRenewal, options.log);
    await finishApply(options.root);
  }

  // The backup directory only exists when something was replaced or removed.
  if (await stat(run.backupDir).then(() => true, () => false)) {
    run.report.backupDir = run.backupDir.slice(options.root.replace(/\/$/, '').length);
  }
  return run.report;
}

/** Renewal runs from certbot's timer (systemd) or its cron file (needs cron running under OpenRC); the names are the distribution's. */
async function scheduleRenewal(init: InitSystem, root: string, renewal: DistributionLayout['certbotRenewal'], log: (line: string) => void): Promise<void> {
  if (init === 'systemd') {
    await execa('systemctl', ['enable', '--now', '--quiet', renewal.timer], { stdin: 'ignore' });
    return;
  }
  if (await isInstalled(root, 'openrc', renewal.cronService)) {
    await execa('rc-update', ['add', renewal.cronService, 'default'], { stdin: 'ignore', reject: false });
    await execa('rc-service', [renewal.cronService, 'start'], { stdin: 'ignore', reject: false });
  } else {
    log('warning: no cron daemon in this image: run `certbot renew` yourself every few weeks, or install cron');
  }
}
