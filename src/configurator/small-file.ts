/**
 * Reading a file the admin named (their own certificate and key): only a regular file, and
 * only up to a size no PEM file comes near. Opened without blocking and checked on the open
 * descriptor, so a FIFO cannot hang the configurator, a device like /dev/zero cannot fill its
 * memory, and a path swapped between a check and the read is still caught.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../lib/errors.js';

/** Far above any certificate chain or private key in PEM. */
export const MAX_PEM_BYTES = 1024 * 1024;

/**
 * The file's text, or throws a UserError naming `shownPath` and what is wrong. Errors of
 * opening (ENOENT, EISDIR, EACCES...) are thrown as they are, for the caller to word.
 */
export function readSmallRegularFile(path: string, shownPath = path, maxBytes = MAX_PEM_BYTES): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    if (!info.isFile()) throw new UserError(`${shownPath} is not a regular file (a device, pipe or socket): give the path of a PEM file`);
    if (info.size > maxBytes) throw new UserError(`${shownPath} is larger than ${maxBytes / 1024 / 1024} MiB: that is no PEM certificate or key`);
    const buffer = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < buffer.length) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return buffer.subarray(0, filled).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The text of a file or stream (`--answers /dev/stdin` works) of at most `maxBytes`; throws a
 * UserError as soon as more arrives, so a huge or endless input is refused without reading it.
 */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw new UserError(`${path} is larger than ${Math.round(maxBytes / 1024)} KiB: that is not an answers file`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
