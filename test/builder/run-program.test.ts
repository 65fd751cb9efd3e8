import test from 'ava';
import { BuildInterrupted, CommandFailed, runLogged } from '../../src/builder/run-program.js';
import type { BuildContext } from '../../src/builder/stage.js';

function context(signal = new AbortController().signal, lines: string[] = []): BuildContext {
  return { signal, sourceDateEpoch: 7, verbose: false, log: (line: string) => lines.push(line) } as unknown as BuildContext;
}

test('output is returned; children see SOURCE_DATE_EPOCH and not XZ_OPT', async (t) => {
  process.env.XZ_OPT = '-T1';
  try {
    const output = await runLogged(context(), 'env', []);
    t.regex(output, /^SOURCE_DATE_EPOCH=7$/m);
    t.notRegex(output, /^XZ_OPT=/m);
  } finally {
    delete process.env.XZ_OPT;
  }
});

test('a failing program: one CommandFailed with exit code and its last output lines', async (t) => {
  const error = await t.throwsAsync(runLogged(context(), 'ls', ['/nonexistent-for-runLogged']), { instanceOf: CommandFailed });
  t.regex(error!.message, /^ls failed \(exit code 2\); its last output:\n  \| ls: cannot access '\/nonexistent-for-runLogged'/);
  const missing = await t.throwsAsync(runLogged(context(), 'no-such-program-here', []), { instanceOf: CommandFailed });
  t.regex(missing!.message, /^no-such-program-here failed \(not found\)/);
});

test('showOutput sends each line to the log; an abort rejects with the abort reason', async (t) => {
  const lines: string[] = [];
  await runLogged(context(undefined, lines), 'printf', ['one\\ntwo\\n'], { showOutput: true });
  t.deepEqual(lines, ['one', 'two']);
  const abort = new AbortController();
  const reason = new BuildInterrupted('SIGTERM');
  setTimeout(() => abort.abort(reason), 200);
  const started = Date.now();
  const error = await t.throwsAsync(runLogged(context(abort.signal), 'sleep', ['30']));
  t.is(error, reason);
  t.true(Date.now() - started < 10_000);
});
