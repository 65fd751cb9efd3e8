/**
 * The debconf write-back against a debconf database under a temporary root, with this
 * machine's own debconf programs (the configurator points them at the root). The templates
 * are the stand-in packages' (test/helpers/jitsi-standin), which carry the questions, owners
 * and types of Jitsi's; one test registers the TURN secret as a string, as upstream's
 * jitsi-meet-prosody does.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { debconfTarget, jitsiDebconfAnswers, writeBackToDebconf } from '../../../src/configurator/apply/debconf.js';
import type { MasterConfig } from '../../../src/configurator/master-config.js';
import { REPO } from '../../helpers/configurator-process.js';
import { scratchDir } from '../../helpers/scratch.js';

const STANDIN = join(REPO, 'test/helpers/jitsi-standin/packages');

const config = {
  hostname: 'meet.jitsi.test',
  secrets: { focus_password: 'focusFOCUSfocus1234', jvb_password: 'jvbJVBjvbJVB123456', turn_secret: 'turnTURNturn123456' },
} as MasterConfig;

/** A root with a debconf database holding the templates of `packages` (owner = package). */
async function rootWithTemplates(packages: Record<string, string>, { preseedPlaceholder = true } = {}): Promise<string> {
  const root = await scratchDir('debconf-root-');
  await mkdir(join(root, 'var/cache/debconf'), { recursive: true });
  const target = await debconfTarget(root);
  try {
    const commands = Object.entries(packages).map(([owner, file]) => `X_LOADTEMPLATEFILE ${file} ${owner}`);
    // A placeholder hostname preseeded, as the image build does.
    if (preseedPlaceholder) commands.push('SET jitsi-videobridge/jvb-hostname jitsi-placeholder.invalid');
    const result = await execa('debconf-communicate', [], { input: `${commands.join('\n')}\n`, env: target.env });
    if (result.stdout.split('\n').some((line) => !line.startsWith('0'))) throw new Error(`loading templates: ${result.stdout}`);
  } finally {
    await target.dispose();
  }
  return root;
}

/** `GET` and `METAGET type` of each question, from the root's database. */
async function debconfState(root: string, questions: string[]): Promise<Record<string, string>> {
  const target = await debconfTarget(root);
  try {
    const commands = questions.flatMap((question) => [`GET ${question}`, `METAGET ${question} type`]);
    const { stdout } = await execa('debconf-communicate', [], { input: `${commands.join('\n')}\n`, env: target.env });
    const lines = stdout.split('\n');
    return Object.fromEntries(questions.map((question, i) => [question, `${lines[2 * i]} | ${lines[2 * i + 1]}`]));
  } finally {
    await target.dispose();
  }
}

const QUESTIONS = jitsiDebconfAnswers(config).map((answer) => answer.question);

test('the hostname and the secrets go into the debconf of the root, secrets apart and never logged; a re-run sets nothing', async (t) => {
  const root = await rootWithTemplates({
    'jitsi-videobridge2': join(STANDIN, 'jitsi-videobridge2/DEBIAN/templates'),
    jicofo: join(STANDIN, 'jicofo/DEBIAN/templates'),
    'jitsi-meet-prosody': join(STANDIN, 'jitsi-meet-prosody/DEBIAN/templates'),
  });
  const lines: string[] = [];
  await writeBackToDebconf(config, root, (line) => lines.push(line));
  t.deepEqual(await debconfState(root, QUESTIONS), {
    'jitsi-videobridge/jvb-hostname': '0 meet.jitsi.test | 0 string',
    'jitsi-videobridge/jvbsecret': '0 jvbJVBjvbJVB123456 | 0 password',
    'jicofo/jicofo-authpassword': '0 focusFOCUSfocus1234 | 0 password',
    'jitsi-meet-prosody/turn-secret': '0 turnTURNturn123456 | 0 password',
  });
  t.deepEqual(lines, [
    'debconf: set jitsi-videobridge/jvb-hostname, jitsi-videobridge/jvbsecret, jicofo/jicofo-authpassword, jitsi-meet-prosody/turn-secret for meet.jitsi.test, so that package upgrades configure themselves for it',
  ]);
  // Password questions live in the database debconf keeps private (0600), not in config.dat.
  const configDat = await readFile(join(root, 'var/cache/debconf/config.dat'), 'utf8');
  for (const secret of Object.values(config.secrets)) t.false(configDat.includes(secret), 'no secret in the world-readable database');
  t.true((await readFile(join(root, 'var/cache/debconf/passwords.dat'), 'utf8')).includes(config.secrets.focus_password));

  const again: string[] = [];
  await writeBackToDebconf(config, root, (line) => again.push(line));
  t.deepEqual(again, [], 'nothing to set, nothing said');
});

test("only the questions of installed packages are set, with their templates' types", async (t) => {
  // jicofo alone registers the hostname and its own password; jitsi-meet-prosody's TURN
  // secret is a string upstream, and must stay one.
  const prosodyTemplates = join(await scratchDir('debconf-templates-'), 'templates');
  await writeFile(prosodyTemplates, 'Template: jitsi-meet-prosody/turn-secret\nType: string\nDescription: The turn server secret\n');
  const root = await rootWithTemplates({ jicofo: join(STANDIN, 'jicofo/DEBIAN/templates'), 'jitsi-meet-prosody': prosodyTemplates });
  const lines: string[] = [];
  await writeBackToDebconf(config, root, (line) => lines.push(line));
  t.deepEqual(await debconfState(root, QUESTIONS), {
    'jitsi-videobridge/jvb-hostname': '0 meet.jitsi.test | 0 string',
    'jitsi-videobridge/jvbsecret': "10 jitsi-videobridge/jvbsecret doesn't exist | 10 jitsi-videobridge/jvbsecret doesn't exist",
    'jicofo/jicofo-authpassword': '0 focusFOCUSfocus1234 | 0 password',
    'jitsi-meet-prosody/turn-secret': '0 turnTURNturn123456 | 0 string',
  });
  t.is(lines.length, 1);
  t.false(lines[0].includes('jvbsecret'), lines[0]);
});

test("a root without debconf, or whose debconf knows none of Jitsi's questions, is left alone and says so", async (t) => {
  const bare = await scratchDir('debconf-none-');
  const lines: string[] = [];
  await writeBackToDebconf(config, bare, (line) => lines.push(line));
  t.deepEqual(lines, [`debconf: left alone (no debconf database under ${join(bare, 'var/cache/debconf')})`]);

  const unrelated = join(await scratchDir('debconf-templates-'), 'templates');
  await writeFile(unrelated, 'Template: tzdata/Areas\nType: select\nChoices: Europe, Etc\nDescription: Area\n');
  const root = await rootWithTemplates({ tzdata: unrelated }, { preseedPlaceholder: false });
  const more: string[] = [];
  await writeBackToDebconf(config, root, (line) => more.push(line));
  t.deepEqual(more, ["debconf: left alone (no Jitsi package's questions are registered: the packages are not installed)"]);
});

test("with a root, this machine's own debconf is never touched", async (t) => {
  const root = await rootWithTemplates({ jicofo: join(STANDIN, 'jicofo/DEBIAN/templates') });
  await writeBackToDebconf(config, root, () => {});
  const { stdout } = await execa('debconf-communicate', [], { input: 'GET jicofo/jicofo-authpassword\n', env: { DEBIAN_FRONTEND: 'noninteractive' }, reject: false });
  t.regex(stdout, /^10 /, 'the question does not exist here');
});
