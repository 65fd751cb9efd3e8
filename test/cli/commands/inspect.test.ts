import test from 'ava';
import { cli } from '../../helpers/release-cli.js';
import { CLEAN_TREE, makeTree, packTree } from '../../helpers/image-trees.js';

test('exit 0 and a text report for a clean image, 1 for an image with a hard error', async (t) => {
  const clean = await cli(['inspect', await packTree(await makeTree(CLEAN_TREE), '.tar.xz')]);
  t.is(clean.exitCode, 0, String(clean.stderr));
  t.regex(String(clean.stdout), /^archive: {5}.*image\.tar\.xz \(xz, \d+ entries/);
  t.regex(String(clean.stdout), /init system: systemd/);
  const dirty = await cli(['inspect', '--json', await packTree(await makeTree({ ...CLEAN_TREE, 'etc/machine-id': 'abcdefabcdefabcdefabcdefabcdef12\n' }))]);
  t.is(dirty.exitCode, 1);
  const report = JSON.parse(String(dirty.stdout));
  t.deepEqual(
    report.findings.filter((f: { severity: string }) => f.severity === 'error').map((f: { kind: string }) => f.kind),
    ['machine-id'],
  );
});

test('a missing archive is one clear line; no argument is a usage error', async (t) => {
  const missing = await cli(['inspect', '/nonexistent/image.tar.xz']);
  t.is(missing.exitCode, 1);
  t.is(String(missing.stderr).trim(), 'nspawn-jitsi inspect: /nonexistent/image.tar.xz: cannot open the archive (ENOENT)');
  const usage = await cli(['inspect']);
  t.is(usage.exitCode, 2);
  t.regex(String(usage.stderr), /missing TARBALL/);
  const help = await cli(['inspect', '--help']);
  t.regex(String(help.stdout), /^Usage: nspawn-jitsi inspect \[options\] TARBALL/);
});
