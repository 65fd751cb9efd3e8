/**
 * Debian version ordering: every pair is also put to dpkg itself (`dpkg --compare-versions`),
 * so the expected order is dpkg's, not ours.
 */
import test from 'ava';
import { execa } from 'execa';
import { compareDebianVersions, debianVersionProblem } from '../../../src/builder/gentoo/debian-version.js';

const PAIRS: [string, string][] = [
  ['1.0-1189-1', '1.0-1197-1'],
  ['2.3-307-g4bb0aead1-1', '2.3-318-g7d1c5e2a0-1'],
  ['1.0.9365-1', '1.0.9471-1'],
  ['1.0~rc1-1', '1.0-1'],
  ['1.0-1', '1.0-1~bpo1'],
  ['1.0', '1.0-0'],
  ['1:0.9', '2.0'],
  ['1.0a', '1.0+'],
  ['1.0a', '1.0.1'],
  ['1.01', '1.1'],
  ['1.0-10', '1.0-9'],
  ['2.0.0-1', '2.0-1'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['0:1.2', '1.2'],
  ['1.2-3-4', '1.2-3'],
];

for (const [a, b] of PAIRS) {
  test(`${a} against ${b} orders as dpkg orders them`, async (t) => {
    const dpkgSays = async (op: string) => (await execa('dpkg', ['--compare-versions', a, op, b], { reject: false })).exitCode === 0;
    const expected = (await dpkgSays('lt')) ? -1 : (await dpkgSays('eq')) ? 0 : 1;
    t.is(Math.sign(compareDebianVersions(a, b)), expected);
    t.is(Math.sign(compareDebianVersions(b, a)), expected === 0 ? 0 : -expected);
  });
}

test('what is not a Debian version is named as such', (t) => {
  t.regex(debianVersionProblem('v1.0') ?? '', /not a Debian version/);
  t.regex(debianVersionProblem('1.0 beta') ?? '', /not a Debian version/);
  t.is(debianVersionProblem('1:2.3-307-g4bb0aead1-1'), undefined);
});
