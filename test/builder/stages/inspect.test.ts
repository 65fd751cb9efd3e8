import test from 'ava';
import { UserError } from '../../../src/lib/errors.js';
import { inspect } from '../../../src/builder/stages/inspect.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { CLEAN_TREE, makeTree, packTree } from '../../helpers/image-trees.js';

function context(artifacts: string[], lines: string[]): BuildContext {
  return { artifacts, log: (line: string) => lines.push(line), signal: new AbortController().signal } as unknown as BuildContext;
}

test('a clean tarball passes and is summarised in the log', async (t) => {
  const tarball = await packTree(await makeTree(CLEAN_TREE), '.tar.xz');
  const lines: string[] = [];
  await inspect.run(context([tarball, tarball.replace(/\.tar\.xz$/, '.nspawn')], lines));
  t.regex(lines[0], /^image\.tar\.xz: \d+ entries, .*, Debian GNU\/Linux 12 \(bookworm\), architecture unknown, init systemd$/);
  t.is(lines.at(-1), 'image.tar.xz: no errors');
});

test('a tarball with per-instance state fails the stage, naming every problem', async (t) => {
  const tarball = await packTree(
    await makeTree({
      ...CLEAN_TREE,
      'etc/machine-id': 'c0ffeec0ffeec0ffeec0ffeec0ffee00\n',
      'etc/ssh/ssh_host_rsa_key': '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    }),
  );
  const lines: string[] = [];
  const error = await t.throwsAsync(inspect.run(context([tarball], lines)), { instanceOf: UserError });
  t.regex(error!.message, /holds 2 things that must not ship/);
  t.regex(error!.message, /image\.tar\.zst: \/etc\/machine-id: holds the machine id c0ffee/);
  t.regex(error!.message, /image\.tar\.zst: \/etc\/ssh\/ssh_host_rsa_key: SSH host private key/);
  t.true(lines.some((line) => line.startsWith('image.tar.zst: error: /etc/machine-id')));
});

test('without a tarball among the artifacts the stage reports a pipeline mistake', async (t) => {
  await t.throwsAsync(inspect.run(context(['/x/image.nspawn'], [])), { message: /no tarball among the artifacts/ });
});
