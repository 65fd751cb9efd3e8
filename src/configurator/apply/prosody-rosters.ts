/**
 * Roster subscriptions in prosody's store: focus@auth.<H> subscribed to focus.<H> and back,
 * which is how Jitsi's client proxy learns where jicofo's session is (it forwards to the session
 * that sent it presence). Made with Jitsi's `prosodyctl mod_roster_command subscribe`, the
 * command jitsi-meet-prosody's own postinst runs; it writes the store directly, so prosody
 * need not run.
 *
 * The roster file is read first and the command only run when the subscription is not "both"
 * yet: a re-run changes nothing.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import type { AccountStore, RosterSubscription } from '../components/types.js';
import { encodeStorageName } from './prosody-accounts.js';

function splitJid(jid: string): { user: string; host: string } {
  const at = jid.indexOf('@');
  if (at <= 0) throw new Error(`not an account JID: ${jid}`);
  return { user: jid.slice(0, at), host: jid.slice(at + 1) };
}

/** The account's roster file in prosody's store, `dataDir` (inside the image) under `root`. */
export function rosterFile(root: string, dataDir: string, account: string): string {
  const { user, host } = splitJid(account);
  return join(root, dataDir, encodeStorageName(host), 'roster', `${encodeStorageName(user)}.dat`);
}

/**
 * The subscription state of `contact` in the account's stored roster (`both`, `to`, `from`,
 * `none`), undefined when the roster or the contact is not there. prosody's data files are Lua
 * (`["focus.meet.example.org"] = { ["subscription"] = "both"; ... };`).
 */
export async function storedSubscription(root: string, dataDir: string, subscription: RosterSubscription): Promise<string | undefined> {
  const source = await readFile(rosterFile(root, dataDir, subscription.account), 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  const start = source.indexOf(`["${subscription.contact}"] = {`);
  if (start < 0) return undefined;
  // The contact's entry runs to the next contact (a key at the roster's top level); its own
  // fields (groups = {}, name, ask) may hold braces of their own.
  const rest = source.slice(start + subscription.contact.length + 4);
  const next = /\n\t(?:\["[^"]*"\]|\[false\]) = \{/.exec(rest);
  const entry = next ? rest.slice(0, next.index) : rest;
  return /\["subscription"\]\s*=\s*"([a-z]+)"/.exec(entry)?.[1];
}

/**
 * Makes every subscription mutual. A subscription whose module (Jitsi's mod_roster_command) is
 * missing is skipped with a warning. Returns the accounts whose roster changed (a session that
 * is logged in keeps the roster it loaded: its service must restart).
 */
export async function ensureRosterSubscriptions(
  root: string,
  store: AccountStore,
  subscriptions: readonly RosterSubscription[],
  log: (line: string) => void,
): Promise<string[]> {
  const changed: string[] = [];
  for (const subscription of subscriptions) {
    if ((await storedSubscription(root, store.dataDir, subscription)) === 'both') continue;
    if (!(await access(join(root, subscription.rosterCommandModule)).then(() => true, () => false))) {
      log(`warning: ${subscription.rosterCommandModule} is not installed: ${subscription.account} not subscribed to ${subscription.contact}`);
      continue;
    }
    const result = await execa('prosodyctl', ['--config', store.config, 'mod_roster_command', 'subscribe', subscription.contact, subscription.account], {
      stdin: 'ignore',
      reject: false,
      all: true,
    });
    const state = await storedSubscription(root, store.dataDir, subscription);
    if (result.exitCode !== 0 || state !== 'both') {
      const said = String(result.all ?? '').trim().split('\n').slice(-3).join(' / ') || 'no output';
      throw new UserError(
        `prosodyctl mod_roster_command could not subscribe ${subscription.account} to ${subscription.contact} ` +
          `(exit ${result.exitCode}, subscription now ${state ?? 'absent'}): ${said}`,
      );
    }
    log(`prosody roster of ${subscription.account}: subscribed to ${subscription.contact}`);
    changed.push(subscription.account);
  }
  return changed;
}
