/**
 * Packs a directory into a deterministic tarball: GNU tar streams straight into the
 * compressor and from there through a SHA-256 hash into a temporary file, which is renamed to
 * its real name only when every process succeeded. No uncompressed tarball touches the disk,
 * and a failure or interruption leaves no file behind.
 */
import { systemErrorAsUserError } from '../lib/errors.js';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa, type ResultPromise } from 'execa';
import { temporaryPathFor } from '../lib/atomic-write.js';
import { childEnvironment, compressorCommand, tarArgs } from './program-args.js';
import type { Compression } from '../image/compression.js';

export interface PackInput {
  rootfs: string;
  destination: string;
  compression: Compression;
  level: number;
  sourceDateEpoch: number;
  signal: AbortSignal;
}

export interface PackResult {
  sha256: string;
  bytes: number;
}

function collectStderr(child: ResultPromise, into: string[]): void {
  child.stderr?.on('data', (chunk: Buffer) => {
    into.push(chunk.toString());
    if (into.length > 50) into.shift();
  });
}

export async function packDirectory(input: PackInput): Promise<PackResult> {
  const failed = new AbortController();
  const signal = AbortSignal.any([input.signal, failed.signal]);
  const env = childEnvironment(process.env, input.sourceDateEpoch);
  const common = { cancelSignal: signal, env, extendEnv: false, buffer: false, stdin: 'ignore', forceKillAfterDelay: 5000 } as const;
  const temporary = temporaryPathFor(input.destination);
  const stderr: string[] = [];

  const tar = execa('tar', tarArgs(input.rootfs, input.sourceDateEpoch), { ...common, stdout: 'pipe', stderr: 'pipe' });
  collectStderr(tar, stderr);
  const processes: ResultPromise[] = [tar];
  let compressed: Readable = tar.stdout!;
  if (input.compression !== 'none') {
    const command = compressorCommand(input.compression, input.level);
    const compressor = execa(command.file, command.args, { ...common, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
    collectStderr(compressor, stderr);
    // stream.pipeline, not .pipe(): when the compressor dies first, .pipe() would leave tar's
    // output paused with unread data, so tar's end would never be reported and the pack would
    // hang. The pipeline destroys it instead; tar's own exit (EPIPE, or our signal) reports why.
    pipeline(tar.stdout!, compressor.stdin!).catch(() => undefined);
    processes.push(compressor);
    compressed = compressor.stdout!;
  }

  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const steps = [pipeline(compressed, hashing, createWriteStream(temporary, { mode: 0o644 })), ...processes];
  // The first failure stops the others at once instead of leaving them blocked on a pipe.
  for (const step of steps) step.catch(() => failed.abort());
  const results = await Promise.allSettled(steps);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await rm(temporary, { force: true });
    if (input.signal.aborted) throw input.signal.reason;
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    // Prefer the program that failed by itself over those we stopped because of it.
    const own = rejected.find((e) => !(e as { isCanceled?: boolean }).isCanceled) ?? rejected[0];
    // A full or read-only output disk: say where and what to do (the tar/zstd messages that
    // follow it only echo the broken pipe).
    const systemError = systemErrorAsUserError(Object.assign(own, { path: (own as NodeJS.ErrnoException).path ?? input.destination }));
    if (systemError) throw systemError;
    const message = (own as { shortMessage?: string }).shortMessage ?? own.message;
    throw new Error(`packing failed: ${message.split('\n')[0]}${stderr.length ? `\n${stderr.join('').trim()}` : ''}`);
  }
  const handle = await open(temporary, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, input.destination);
  return { sha256: hash.digest('hex'), bytes };
}
