/**
 * lock-root: makes sure the root account has no usable password (`*` or `!` in
 * /etc/shadow). Root gets in with `machinectl shell` or `systemd-nspawn` from the host;
 * an image must never ship a password anyone could know.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildContext, Stage } from '../stage.js';

/** Whether a shadow password field allows no password login. */
export function isLocked(field: string): boolean {
  return field.startsWith('!') || field.startsWith('*');
}

/** /etc/shadow text with `user`'s password field locked (`*` when it was empty or usable). */
export function lockAccount(shadow: string, user: string): { text: string; changed: boolean } {
  let found = false;
  let changed = false;
  const lines = shadow.split('\n').map((line) => {
    const fields = line.split(':');
    if (fields[0] !== user || fields.length < 2) return line;
    found = true;
    if (isLocked(fields[1])) return line;
    changed = true;
    fields[1] = fields[1] === '' ? '*' : `!${fields[1]}`;
    return fields.join(':');
  });
  if (!found) throw new Error(`/etc/shadow has no entry for ${user}`);
  return { text: lines.join('\n'), changed };
}

export const lockRoot: Stage = {
  name: 'lock-root',
  title: 'Lock the root account',
  async run(ctx: BuildContext) {
    const file = join(ctx.rootfs, 'etc/shadow');
    const { text, changed } = lockAccount(await readFile(file, 'utf8'), 'root');
    if (changed) await writeFile(file, text, { mode: 0o640 });
    ctx.log(changed ? 'root password locked' : 'root account already locked');
  },
};
