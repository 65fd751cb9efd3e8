import test from 'ava';
import { packageListText } from '../../../src/builder/stages/package-list.js';

test('only installed packages, sorted, as "name version arch"', (t) => {
  const query = ['ii \tnginx\t1.22.1-9\tamd64', 'rc \told-thing\t1.0\tamd64', 'ii \tbase-files\t12.4\tamd64', 'garbage', ''].join('\n');
  t.is(packageListText(query), 'base-files 12.4 amd64\nnginx 1.22.1-9 amd64\n');
});
