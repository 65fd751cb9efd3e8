import test from 'ava';
import { architectureFromDpkgStatus } from '../../src/image/architecture.js';

const entry = (name: string, architecture: string, status = 'install ok installed') => `Package: ${name}\nStatus: ${status}\nVersion: 1\nArchitecture: ${architecture}\n`;

test("dpkg's own architecture is the image's", (t) => {
  t.is(architectureFromDpkgStatus([entry('tzdata', 'all'), entry('libc6', 'amd64'), entry('dpkg', 'arm64')].join('\n')), 'arm64');
});

test('without dpkg: the most common installed architecture other than all; nothing: undefined', (t) => {
  const text = [entry('a', 'all'), entry('b', 'all'), entry('c', 'arm64'), entry('d', 'arm64'), entry('e', 'amd64'), entry('f', 'amd64', 'deinstall ok config-files'), entry('g', 'amd64', 'deinstall ok config-files')].join('\n');
  t.is(architectureFromDpkgStatus(text), 'arm64');
  t.is(architectureFromDpkgStatus(entry('a', 'all')), undefined);
  t.is(architectureFromDpkgStatus(''), undefined);
});
