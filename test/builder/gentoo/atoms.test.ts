import test from 'ava';
import { atomProblem, keywordProblem, makeConfNameProblem, makeConfValueProblem, profileProblem, useFlagsProblem, useTokenProblem } from '../../../src/builder/gentoo/atoms.js';

test('package atoms as the recipe writes them', (t) => {
  for (const atom of ['www-servers/nginx', 'dev-java/openjdk-bin:21', 'dev-lang/lua:5.4', 'net-im/coturn::gentoo', '>=net-im/prosody-13.0', '=dev-java/openjdk-bin-21*', '~net-im/coturn-4.17.2', 'x11-libs/gtk+:3', 'dev-libs/openssl:0/3']) {
    t.is(atomProblem(atom), undefined, atom);
  }
  t.regex(atomProblem('nginx')!, /'nginx' is not a Gentoo package atom: write category\/name \(like www-servers\/nginx\)/);
  for (const bad of ['www-servers/nginx-1.26.2', 'www-servers/nginx ssl', 'www-servers/', '/nginx', '>=www-servers/nginx', 'www-servers/nginx:', 'a/b;rm', 'dev-lua/*', '*/*', '../x/y']) {
    t.truthy(atomProblem(bad), bad);
  }
  t.is(atomProblem('dev-lua/*', { wildcard: true }), undefined);
  t.is(atomProblem('*/*', { wildcard: true }), undefined);
  t.regex(atomProblem('dev-lua/**', { wildcard: true })!, /or category\/\*$/);
});

test('USE flags, keywords, make.conf settings and profiles', (t) => {
  for (const token of ['ssl', '-X', '-*', 'headless-awt', 'LUA_SINGLE_TARGET:', 'lua5-4', 'python_targets_python3_13']) t.is(useTokenProblem(token), undefined, token);
  for (const token of ['', 'a b', '"x"', '$(x)', 'lua_single_target:', '--x']) t.truthy(useTokenProblem(token), token);
  t.regex(useFlagsProblem(['LUA_SINGLE_TARGET:'])!, /LUA_SINGLE_TARGET: has no values after it/);
  t.regex(useFlagsProblem([])!, /no flags/);
  t.is(useFlagsProblem(['LUA_SINGLE_TARGET:', '-*', 'lua5-4']), undefined);
  for (const keyword of ['~amd64', 'amd64', '~arm64', '**', '~*', '-~x86']) t.is(keywordProblem(keyword), undefined, keyword);
  for (const keyword of ['~', 'AMD64', '~amd64 ~arm64', '#']) t.truthy(keywordProblem(keyword), keyword);
  t.is(makeConfNameProblem('MAKEOPTS'), undefined);
  t.is(makeConfNameProblem('USE'), undefined);
  t.regex(makeConfNameProblem('FEATURES')!, /FEATURES is written by the build itself/);
  t.regex(makeConfNameProblem('PORTAGE_BINHOST')!, /gentoo\.binhost/);
  t.regex(makeConfNameProblem('ACCEPT_KEYWORDS')!, /gentoo\.accept-keywords/);
  t.regex(makeConfNameProblem('makeopts')!, /not a make\.conf variable name/);
  t.is(makeConfValueProblem('-j4 -l4'), undefined);
  for (const value of ['a"b', '${X}', 'a\\b', '`id`', 'a\nb']) t.truthy(makeConfValueProblem(value), value);
  t.is(profileProblem('default/linux/amd64/23.0/systemd'), undefined);
  for (const profile of ['default/../../x', '/default/linux', 'default linux', '']) t.truthy(profileProblem(profile), profile);
});
