import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageList, packageListText } from '../../../src/builder/stages/package-list.js';
import type { BuildContext } from '../../../src/builder/stage.js';
import { scratchDir } from '../../helpers/scratch.js';

test('only installed packages, sorted, as "name version arch"', (t) => {
  const query = ['ii \tnginx\t1.22.1-9\tamd64', 'rc \told-thing\t1.0\tamd64', 'ii \tbase-files\t12.4\tamd64', 'garbage', ''].join('\n');
  t.is(packageListText(query), 'base-files 12.4 amd64\nnginx 1.22.1-9 amd64\n');
});

test('a Gentoo image: the list comes from /var/db/pkg, written as an artifact', async (t) => {
  const rootfs = await scratchDir('package-list-gentoo-');
  const out = await scratchDir('package-list-gentoo-out-');
  const pkg = join(rootfs, 'var/db/pkg/net-im/prosody-13.0.5');
  await mkdir(pkg, { recursive: true });
  await writeFile(join(pkg, 'SLOT'), '0\n');
  await writeFile(join(pkg, 'CHOST'), 'aarch64-unknown-linux-gnu\n');
  const lines: string[] = [];
  const ctx = { rootfs, outDir: out, artifactBase: 'gentoo-23.0-jitsi-openrc-0.1.0-arm64', artifacts: [] as string[], architecture: 'arm64', recipe: { distro: 'gentoo' }, log: (line: string) => lines.push(line) };
  await packageList.run(ctx as unknown as BuildContext);
  t.deepEqual(ctx.artifacts, [join(out, 'gentoo-23.0-jitsi-openrc-0.1.0-arm64.packages')]);
  t.is(await readFile(ctx.artifacts[0], 'utf8'), 'net-im/prosody:0 13.0.5 arm64\n');
  t.deepEqual(lines, ['1 packages']);
});
