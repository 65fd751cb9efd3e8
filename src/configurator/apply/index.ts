/**
 * The apply step: the only part of the configurator that touches the file system or runs
 * programs. It writes every generated file, makes the TLS material, creates the prosody
 * accounts, brings the services up through the one `jitsi-meet-server` unit/service and
 * tells Jitsi's packages the hostname and secrets through debconf (debconf.ts).
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MasterConfig } from '../master-config.js';
import { planServer, type ServerPlan } from '../components/index.js';
import { PROSODY_PLUGINS_DIR } from '../components/prosody/index.js';
import type { HostFacts, XmppAccount } from '../components/types.js';
import type { DistributionLayout } from '../distribution.js';
import { readDistribution } from '../os-release.js';
import { caStoreCopy, KEY_GROUP, webTls } from '../paths.js';
import { applyPlan } from './apply-plan.js';
import { writeBackToDebconf } from './debconf.js';
import { removeLeftovers } from './files.js';
import { readOwnerDatabase } from './owners.js';
import { waitForBoot } from './services.js';
import { staleHostnames } from './stale-hosts.js';
import type { ApplyInit, ApplyOptions, ApplyReport } from './types.js';

export type { ApplyInit, ApplyOptions, ApplyReport } from './types.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Version of an installed Debian package, from dpkg's status file (`statusFile` inside the image) under `root`. */
export async function installedDebianVersion(root: string, statusFile: string, name: string): Promise<string | undefined> {
  const status = await readFile(join(root, statusFile), 'utf8').catch(() => '');
  for (const stanza of status.split(/\n\n+/)) {
    if (!new RegExp(`^Package: ${name.replace(/[.+]/g, '\\$&')}$`, 'm').test(stanza)) continue;
    if (!/^Status: install ok installed$/m.test(stanza)) return undefined;
    return /^Version: (\S+)$/m.exec(stanza)?.[1];
  }
  return undefined;
}

/**
 * Version of an installed Gentoo package (`net-im/prosody`): portage keeps one directory per
 * installed package, `<database>/<category>/<name>-<version>`, the version starting with a
 * digit (`13.0.5`, `0.12.5-r1`), which is how a name with a hyphen is told from it.
 */
export async function installedGentooVersion(root: string, database: string, atom: string): Promise<string | undefined> {
  const [category, name] = atom.split('/');
  if (!category || !name) throw new Error(`${atom} is not <category>/<name>`);
  const entries = await readdir(join(root, database, category)).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith(`${name}-`)) continue;
    const version = entry.slice(name.length + 1);
    if (/^\d/.test(version)) return version;
  }
  return undefined;
}

/** Version of an installed package in the distribution's package database. */
export function installedPackageVersion(root: string, layout: DistributionLayout, name: string): Promise<string | undefined> {
  const { kind, path } = layout.packageDatabase;
  return kind === 'portage' ? installedGentooVersion(root, path, name) : installedDebianVersion(root, path, name);
}

/** Facts the generators need, read from the image under `root` (its distribution from its os-release). */
export async function gatherFacts(root: string, init: ApplyInit): Promise<HostFacts> {
  const distribution = readDistribution(root);
  const openrc = init === 'openrc' || (init === 'none' && (await exists(join(root, 'sbin/openrc-run'))));
  const facts: HostFacts = { distribution, init: openrc ? 'openrc' : 'systemd' };
  if (await exists(join(root, PROSODY_PLUGINS_DIR))) facts.prosodyPluginsDir = PROSODY_PLUGINS_DIR;
  if ((await readOwnerDatabase(root)).group(KEY_GROUP) !== undefined) facts.keyGroup = KEY_GROUP;
  const prosodyVersion = await installedPackageVersion(root, distribution, distribution.prosody.package);
  if (prosodyVersion) facts.prosodyVersion = prosodyVersion;
  return facts;
}

/** Accounts of the previous plan (same hostname) that `plan` does not have. */
export function retiredAccounts(plan: ServerPlan, previous: ServerPlan | undefined): XmppAccount[] {
  if (!previous) return [];
  const jid = (account: XmppAccount) => `${account.username}@${account.host}`;
  const kept = new Set(plan.accounts.map(jid));
  return previous.accounts.filter((account) => !kept.has(jid(account)));
}

/**
 * Plans every component from the master config and carries the plan out (see apply-plan.ts
 * for the order). Safe to run again: what is already right is left alone, so a re-run with
 * the same master config changes no file and restarts nothing.
 */
export async function applyConfiguration(config: MasterConfig, options: ApplyOptions): Promise<ApplyReport> {
  if (options.init !== 'none') await waitForBoot(options.init, options.log);
  const facts = await gatherFacts(options.root, options.init);
  const plan = planServer(config, facts);
  // Leftovers of an interrupted run (temporary files, TLS scratch with a key): the caller holds the run lock.
  const written = [...plan.files.map((file) => file.path), webTls(config.hostname).cert, caStoreCopy(config.hostname)];
  for (const path of await removeLeftovers(written.map((file) => join(options.root, dirname(file))))) {
    options.log(`removed ${path}, left by an interrupted run`);
  }
  // Other hostnames this machine still has our files for: the previous master config's, and
  // any an interrupted change left on disk (only the disk knows those).
  const staleHosts = await staleHostnames(options.root, facts.distribution, config.hostname, options.previousConfig?.hostname);
  const previousPlans = staleHosts.map((hostname) => planServer({ ...(options.previousConfig ?? config), hostname }, facts));
  plan.retiredAccounts = retiredAccounts(plan, options.previousConfig && options.previousConfig.hostname === config.hostname ? planServer(options.previousConfig, facts) : undefined);
  const report = await applyPlan(plan, previousPlans, options);
  // After the plan: debconf then names the hostname whose files are on disk. Only where apt
  // runs Jitsi's maintainer scripts, which read it.
  if (facts.distribution.debconf) await writeBackToDebconf(config, options.root, options.log);
  options.log(applySummary(report));
  return report;
}

/** The one line that ends every apply (the apt hook quotes it): what was written, kept, removed and restarted. */
export function applySummary(report: ApplyReport): string {
  return (
    `${report.changed.length} file(s) written, ${report.unchanged.length} unchanged, ${report.removed.length} removed` +
    (report.backupDir ? `; previous versions kept in ${report.backupDir}` : '') +
    (report.restarted.length > 0 ? `; restarted ${report.restarted.join(', ')}` : '')
  );
}
