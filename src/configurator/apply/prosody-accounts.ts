/**
 * Prosody accounts (focus and jvb on auth.<H>, the convener on <H>) whose passwords must
 * always equal the ones in the generated jicofo.conf/jvb.conf and the master config.
 *
 * An account is checked against prosody's stored SCRAM data first and only (re)registered
 * when the password does not match: `prosodyctl register` overwrites an account with a fresh
 * salt, so calling it on every run would change files on a run that should change nothing.
 * `prosodyctl register` works whether or not prosody is running (it writes the account store
 * directly, and prosody reads it on every login).
 */
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../lib/errors.js';
import type { AccountStore, XmppAccount } from '../components/types.js';
import { encodeStorageName } from '../components/prosody/index.js';


export { encodeStorageName };

/** The account's file in prosody's store, `dataDir` (inside the image) under `root`. */
export function accountFile(root: string, dataDir: string, account: Pick<XmppAccount, 'username' | 'host'>): string {
  return join(root, dataDir, encodeStorageName(account.host), 'accounts', `${encodeStorageName(account.username)}.dat`);
}

function luaString(source: string, key: string): string | undefined {
  return new RegExp(`\\["${key}"\\]\\s*=\\s*"([^"]*)"`).exec(source)?.[1];
}

function luaNumber(source: string, key: string): number | undefined {
  const match = new RegExp(`\\["${key}"\\]\\s*=\\s*(\\d+)`).exec(source)?.[1];
  return match === undefined ? undefined : Number(match);
}

/** True when prosody's stored SCRAM-SHA-1 key for the account was derived from `password`. */
export async function accountHasPassword(root: string, dataDir: string, account: XmppAccount): Promise<boolean> {
  const source = await readFile(accountFile(root, dataDir, account), 'utf8').catch(() => undefined);
  if (source === undefined) return false;
  const salt = luaString(source, 'salt');
  const storedKey = luaString(source, 'stored_key');
  const iterations = luaNumber(source, 'iteration_count');
  if (salt === undefined || storedKey === undefined || iterations === undefined || !/^[0-9a-f]{40}$/.test(storedKey)) return false;
  const saltedPassword = pbkdf2Sync(account.password, salt, iterations, 20, 'sha1');
  const clientKey = createHmac('sha1', saltedPassword).update('Client Key').digest();
  const expected = createHash('sha1').update(clientKey).digest();
  return timingSafeEqual(expected, Buffer.from(storedKey, 'hex'));
}

/**
 * Makes every account exist with its password. Returns the accounts that were created or
 * changed (their users must log in again: jicofo and the videobridge are restarted).
 */
export async function ensureProsodyAccounts(
  root: string,
  store: AccountStore,
  accounts: readonly XmppAccount[],
  log: (line: string) => void,
): Promise<string[]> {
  const changed: string[] = [];
  for (const account of accounts) {
    const jid = `${account.username}@${account.host}`;
    if (await accountHasPassword(root, store.dataDir, account)) continue;
    // Without a password argument prosodyctl reads it twice from stdin: it never shows up in
    // the process list, where every local user could read it.
    const result = await execa('prosodyctl', ['--config', store.config, 'register', account.username, account.host], {
      input: `${account.password}\n${account.password}\n`,
      reject: false,
      all: true,
    });
    if (result.exitCode !== 0) {
      throw new UserError(`prosodyctl could not set the password of ${jid} (exit ${result.exitCode}): ${String(result.all ?? '').trim()}`);
    }
    if (!(await accountHasPassword(root, store.dataDir, account))) {
      throw new Error(`prosodyctl register ${jid} did not store the password (look at ${accountFile(root, store.dataDir, account)})`);
    }
    log(`prosody account ${jid}: password set`);
    changed.push(jid);
  }
  return changed;
}

/**
 * Deletes accounts an earlier plan made and this one does not (a bridge removed with
 * --remove-bridge). Returns the JIDs deleted. prosody reads the store at every login, so a
 * deleted account cannot log in again; its live session ends when prosody restarts, which its
 * changed configuration makes happen on this run.
 */
export async function deleteProsodyAccounts(
  root: string,
  store: AccountStore,
  accounts: readonly XmppAccount[],
  log: (line: string) => void,
): Promise<string[]> {
  const deleted: string[] = [];
  for (const account of accounts) {
    const jid = `${account.username}@${account.host}`;
    const file = accountFile(root, store.dataDir, account);
    if (!(await readFile(file).then(() => true, () => false))) continue;
    const result = await execa('prosodyctl', ['--config', store.config, 'deluser', jid], { stdin: 'ignore', reject: false, all: true });
    if (result.exitCode !== 0 || (await readFile(file).then(() => true, () => false))) {
      throw new UserError(`prosodyctl could not delete the account ${jid} (exit ${result.exitCode}): ${String(result.all ?? '').trim()}`);
    }
    log(`prosody account ${jid}: deleted`);
    deleted.push(jid);
  }
  return deleted;
}
