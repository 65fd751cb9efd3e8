import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureRosterSubscriptions, rosterFile, storedSubscription } from '../../../src/configurator/apply/prosody-rosters.js';
import { scratchDir } from '../../helpers/scratch.js';

/** Debian's store (the path is what rosterFile's first test asserts); a config path prosodyctl would fail on. */
const STORE = { config: '/nonexistent/prosody.cfg.lua', dataDir: '/var/lib/prosody' };
const SUBSCRIPTION = { account: 'focus@auth.meet.jitsi.test', contact: 'focus.meet.jitsi.test', rosterCommandModule: '/usr/share/jitsi-meet/prosody-plugins/mod_roster_command.lua' };

/** A roster as prosody's file store writes it (a Lua table). */
function rosterData(subscription: string): string {
  return [
    'return {',
    '\t[false] = {',
    '\t\t["version"] = 2;',
    '\t};',
    `\t["focus.meet.jitsi.test"] = {`,
    `\t\t["groups"] = {};`,
    `\t\t["subscription"] = "${subscription}";`,
    '\t};',
    '\t["other.example"] = {',
    '\t\t["groups"] = {};',
    '\t\t["subscription"] = "both";',
    '\t};',
    '};',
    '',
  ].join('\n');
}

test("the stored subscription is read from the account's roster file in prosody's store", async (t) => {
  const root = await scratchDir('roster-');
  t.is(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account), `${root}/var/lib/prosody/auth%2emeet%2ejitsi%2etest/roster/focus.dat`);
  t.is(await storedSubscription(root, STORE.dataDir, SUBSCRIPTION), undefined, 'no roster yet');
  await mkdir(dirname(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account)), { recursive: true });
  await writeFile(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account), rosterData('to'));
  t.is(await storedSubscription(root, STORE.dataDir, SUBSCRIPTION), 'to', "another contact's 'both' does not count");
  await writeFile(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account), rosterData('both'));
  t.is(await storedSubscription(root, STORE.dataDir, SUBSCRIPTION), 'both');
});

test('a subscription already mutual runs nothing; one whose module is missing is skipped with a warning', async (t) => {
  const root = await scratchDir('roster-');
  const lines: string[] = [];
  // No plugins under this root: nothing runs (prosodyctl would fail on this config path).
  t.deepEqual(await ensureRosterSubscriptions(root, STORE, [SUBSCRIPTION], (line) => lines.push(line)), []);
  t.regex(lines.join('\n'), /^warning: .*mod_roster_command\.lua is not installed: focus@auth\.meet\.jitsi\.test not subscribed to focus\.meet\.jitsi\.test$/);
  await mkdir(dirname(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account)), { recursive: true });
  await writeFile(rosterFile(root, STORE.dataDir, SUBSCRIPTION.account), rosterData('both'));
  lines.length = 0;
  t.deepEqual(await ensureRosterSubscriptions(root, STORE, [SUBSCRIPTION], (line) => lines.push(line)), []);
  t.deepEqual(lines, []);
});
