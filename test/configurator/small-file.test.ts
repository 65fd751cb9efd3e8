import test from 'ava';
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installOwnPair } from '../../src/configurator/apply/tls.js';
import { readSmallRegularFile } from '../../src/configurator/small-file.js';
import { UserError } from '../../src/lib/errors.js';
import { scratchDir } from '../helpers/scratch.js';

test('reads regular files whole; refuses devices, FIFOs and oversized files without reading them', async (t) => {
  const dir = await scratchDir('jmc-');
  const small = join(dir, 'small.pem');
  await writeFile(small, 'hello\n');
  t.is(readSmallRegularFile(small), 'hello\n');
  const fifo = join(dir, 'fifo');
  await execa('mkfifo', [fifo]);
  t.throws(() => readSmallRegularFile(fifo, '/root/fifo'), { instanceOf: UserError, message: /^\/root\/fifo is not a regular file/ });
  t.throws(() => readSmallRegularFile('/dev/zero'), { instanceOf: UserError, message: /not a regular file/ });
  t.throws(() => readSmallRegularFile(small, small, 3), { instanceOf: UserError, message: /larger than/ });
  t.throws(() => readSmallRegularFile(join(dir, 'missing')), { code: 'ENOENT' });
  t.throws(() => readSmallRegularFile(dir), { code: 'EISDIR' });
});

test('applying an own pair whose certificate became a FIFO fails at once with the key name', async (t) => {
  const root = await scratchDir('jmc-');
  await execa('mkfifo', [join(root, 'meet.crt')]);
  await writeFile(join(root, 'meet.key'), 'not used\n');
  const target = { cert: join(root, 'out.crt'), key: join(root, 'out.key') };
  const error = await t.throwsAsync(installOwnPair({ cert: '/meet.crt', key: '/meet.key' }, target, { mode: 0o640, uid: 0, gid: 0 }, join(root, 'backup'), root));
  t.regex(error!.message, /^tls\.cert: \/meet\.crt is not a regular file/);
});
