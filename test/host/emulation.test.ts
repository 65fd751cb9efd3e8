import test from 'ava';
import { emulationProblem, parseBinfmtEntry, QEMU_ARCHITECTURE, type EmulationFacts } from '../../src/host/emulation.js';

const ready: EmulationFacts = {
  binfmtMounted: true,
  entry: { enabled: true, interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', flags: 'PF' },
  interpreterExists: true,
  qemuInstalled: true,
};

test('binfmt_misc entry files are read: state, interpreter, flags', (t) => {
  const text = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c46\nmask ffffffff\n';
  t.deepEqual(parseBinfmtEntry(text), { enabled: true, interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', flags: 'PF' });
  t.false(parseBinfmtEntry('disabled\ninterpreter /x\nflags: \n').enabled);
});

test('the native architecture needs no emulation, whatever the host has', (t) => {
  t.is(emulationProblem('amd64', 'amd64', { binfmtMounted: false, interpreterExists: false, qemuInstalled: false }), undefined);
  t.is(emulationProblem('arm64', 'amd64', ready), undefined);
});

test('each missing piece is one line naming its fix', (t) => {
  const problem = (facts: Partial<EmulationFacts>) => emulationProblem('arm64', 'amd64', { ...ready, ...facts }) ?? '';
  const nothing = problem({ qemuInstalled: false, entry: undefined, binfmtMounted: false });
  t.regex(nothing, /building arm64 on this amd64 host .* not installed: apt install qemu-user-static binfmt-support$/);
  t.regex(problem({ binfmtMounted: false }), /binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc \/proc\/sys\/fs\/binfmt_misc && update-binfmts --enable qemu-aarch64$/);
  t.regex(problem({ entry: undefined }), /qemu-aarch64 is not registered with binfmt_misc: update-binfmts --enable qemu-aarch64$/);
  t.regex(problem({ entry: { ...ready.entry!, enabled: false } }), /is disabled: update-binfmts --enable qemu-aarch64$/);
  t.regex(problem({ interpreterExists: false }), /interpreter \/usr\/libexec\/qemu-binfmt\/aarch64-binfmt-P is missing: apt install --reinstall qemu-user-static$/);
  t.regex(problem({ entry: { ...ready.entry!, flags: 'P' } }), /without the F flag \(flags: P\)/);
  for (const line of [nothing, problem({ binfmtMounted: false }), problem({ entry: undefined })]) t.false(line.includes('\n'), line);
});

test('an arm64 host building amd64 asks for the x86_64 emulator', (t) => {
  t.is(QEMU_ARCHITECTURE.amd64, 'x86_64');
  t.regex(emulationProblem('amd64', 'arm64', { ...ready, entry: undefined }) ?? '', /update-binfmts --enable qemu-x86_64/);
});
