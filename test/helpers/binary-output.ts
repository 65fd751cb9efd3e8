/**
 * A program's standard output as bytes, exactly as written. execa strips a final newline by
 * default even in buffer mode; for binary data (an exported key, a Java keystore) that byte
 * is content, and losing it corrupts the file about once in 256 runs.
 */
import { execa, type Options } from 'execa';

export async function binaryOutput(file: string, args: readonly string[], options: Options = {}): Promise<Uint8Array> {
  const result = await execa(file, args, { ...options, encoding: 'buffer', stripFinalNewline: false });
  return result.stdout as Uint8Array;
}
