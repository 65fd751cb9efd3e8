/**
 * Owners of generated files are names (`prosody:prosody`); the numbers behind them are the
 * image's, read from its own /etc/passwd and /etc/group under the apply root. The host's
 * databases would give wrong numbers whenever the apply step runs against a root that is not
 * `/` (tests, a build host).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Ids {
  uid: number;
  gid: number;
}

export interface OwnerDatabase {
  /** uid/gid of `user:group` (or `user`, meaning the user's primary group); undefined when either is unknown. */
  resolve(owner: string): Ids | undefined;
  /** gid of a group, undefined when the image has no such group. */
  group(name: string): number | undefined;
  /** uid of a user, undefined when the image has no such user. */
  user(name: string): number | undefined;
}

/** Parses `name:x:id:...` lines into name → [id, rest of fields]. */
function parseColonFile(text: string, idField: number): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length <= idField || !/^\d+$/.test(fields[idField] ?? '')) continue;
    entries.set(fields[0]!, fields);
  }
  return entries;
}

export async function readOwnerDatabase(root: string): Promise<OwnerDatabase> {
  const passwdText = await readFile(join(root, 'etc/passwd'), 'utf8').catch(() => '');
  const groupText = await readFile(join(root, 'etc/group'), 'utf8').catch(() => '');
  const users = parseColonFile(passwdText, 2);
  const groups = parseColonFile(groupText, 2);
  // root is root even in a bare test root without a passwd file.
  const user = (name: string): number | undefined =>
    users.has(name) ? Number(users.get(name)![2]) : name === 'root' ? 0 : undefined;
  const group = (name: string): number | undefined =>
    groups.has(name) ? Number(groups.get(name)![2]) : name === 'root' ? 0 : undefined;
  return {
    user,
    group,
    resolve(owner) {
      const [userName, groupName] = owner.split(':') as [string, string | undefined];
      const uid = user(userName);
      if (uid === undefined) return undefined;
      const gid = groupName ? group(groupName) : users.has(userName) ? Number(users.get(userName)![3]) : 0;
      if (gid === undefined) return undefined;
      return { uid, gid };
    },
  };
}
