import test from 'ava';
import { checkContext } from '../../../src/configurator/check/index.js';
import { exitCode, formatResults, resultsJson, runChecks, summaryLine } from '../../../src/configurator/check/run.js';
import type { Check, Verdict } from '../../../src/configurator/check/types.js';
import { loadFixture } from '../../helpers/generated-files.js';

function fake(name: string, needs: string[], verdict: Verdict | (() => Promise<Verdict>), note?: string): Check {
  return {
    name,
    what: `${name} is fine`,
    needs,
    fix: `table fix of ${name}`,
    notApplicable: note ? async () => note : undefined,
    run: typeof verdict === 'function' ? verdict : async () => verdict,
  };
}

test('a check whose need failed is skipped naming it, and so are the checks that need the skipped one; others still run', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'systemd');
  const results = await runChecks(
    [
      fake('service:prosody', [], { status: 'fail', detail: 'prosody is not running', fix: 'start it' }),
      fake('listen:prosody', ['service:prosody'], { status: 'pass', detail: 'never seen' }),
      fake('xmpp:focus-login', ['listen:prosody'], { status: 'pass', detail: 'never seen' }),
      fake('dns', [], { status: 'pass', detail: 'resolves' }),
    ],
    ctx,
  );
  t.deepEqual(
    results.map((r) => [r.name, r.status]),
    [
      ['service:prosody', 'fail'],
      ['listen:prosody', 'skipped'],
      ['xmpp:focus-login', 'skipped'],
      ['dns', 'pass'],
    ],
  );
  t.is(results[1].detail, 'listen:prosody is fine: skipped because service:prosody failed');
  t.is(results[2].detail, 'xmpp:focus-login is fine: skipped because listen:prosody failed');
  t.is(exitCode(results), 1);
});

test('not applicable is a note (exit 0); a warning keeps exit 0 and gets the fix; a verdict without a fix gets the table fix', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'openrc');
  const results = await runChecks(
    [
      fake('service:jicofo', [], { status: 'fail', detail: 'never run' }, 'jicofo is not installed on this server (nothing to check)'),
      fake('health:jicofo', ['service:jicofo'], { status: 'pass', detail: 'runs' }),
      fake('tls:trusted', [], { status: 'warn', detail: 'self-signed' }),
      fake('broken', [], { status: 'fail', detail: 'down' }),
      fake('service:jvb', ['broken'], { status: 'fail', detail: 'never run' }, 'jitsi-videobridge2 is not installed'),
    ],
    ctx,
  );
  // A check that does not apply says so even when a need failed: it is never "skipped".
  t.deepEqual(results.map((r) => r.status), ['not-applicable', 'pass', 'warn', 'fail', 'not-applicable']);
  results.splice(3);
  t.is(results[2].fix, 'table fix of tls:trusted');
  t.is(results[0].fix, undefined);
  t.is(exitCode(results), 0);
  t.is(
    formatResults(results),
    '· service:jicofo: jicofo is not installed on this server (nothing to check)\n✔ health:jicofo: runs\n⚠ tls:trusted: self-signed -> fix: table fix of tls:trusted\n',
  );
  t.is(summaryLine(results), '1 passed, 1 warning(s), 0 failed, 1 not applicable');
});

test('a check that throws or outlives its time limit fails with its table fix; the others are not held up', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'systemd');
  const started = Date.now();
  const results = await runChecks(
    [
      fake('slow', [], () => new Promise<Verdict>(() => undefined)),
      fake('broken', [], async () => {
        throw new Error('ss is missing');
      }),
      fake('quick', [], { status: 'pass', detail: 'fine' }),
    ],
    ctx,
    300,
  );
  t.true(Date.now() - started < 2000);
  t.like(results[0], { status: 'fail', detail: 'slow is fine: the check itself failed: no result within 0.3 s', fix: 'table fix of slow' });
  t.like(results[1], { status: 'fail', detail: 'broken is fine: the check itself failed: ss is missing' });
  t.is(results[2].status, 'pass');
});

test('needs must name rows of the table and must not go in a circle', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'systemd');
  await t.throwsAsync(runChecks([fake('a', ['nope'], { status: 'pass', detail: '' })], ctx), { message: /a needs nope, which is not in the table/ });
  await t.throwsAsync(
    runChecks([fake('a', ['b'], { status: 'pass', detail: '' }), fake('b', ['a'], { status: 'pass', detail: '' })], ctx),
    { message: /circle/ },
  );
});

test('a fact is read once per run, however many checks ask for it', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'systemd');
  let reads = 0;
  const read = async () => ++reads;
  await Promise.all([ctx.once('x', read), ctx.once('x', read), ctx.once('y', read)]);
  t.is(reads, 2);
});

test('--json: hostname, ok, counts and every result with its fix', async (t) => {
  const ctx = checkContext(await loadFixture('localhost'), 'systemd');
  const results = await runChecks([fake('a', [], { status: 'fail', detail: 'broken', fix: 'mend it' }), fake('b', ['a'], { status: 'pass', detail: '' })], ctx);
  const parsed = JSON.parse(resultsJson(results, 'meet.example.org', new Date('2026-12-01T00:00:00Z')));
  t.deepEqual(parsed, {
    hostname: 'meet.example.org',
    time: '2026-12-01T00:00:00.000Z',
    ok: false,
    summary: { failed: 1, warnings: 0, passed: 0, skipped: 1, notApplicable: 0 },
    checks: [
      { name: 'a', status: 'fail', detail: 'broken', fix: 'mend it' },
      { name: 'b', status: 'skipped', detail: 'b is fine: skipped because a failed', because: ['a'] },
    ],
  });
});
