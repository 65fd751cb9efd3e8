import test from 'ava';
import { hostSignalForEmulatedGuest } from '../../src/boot/emulated-signals.js';
import { KILL_SIGNAL } from '../../src/image/settings-file.js';

test("systemd's halt signal is sent shifted by qemu-user's two reserved RT signals; SIGPWR unchanged", (t) => {
  t.is(hostSignalForEmulatedGuest(KILL_SIGNAL.systemd), 'SIGRTMIN+5');
  t.is(hostSignalForEmulatedGuest('SIGRTMIN+0'), 'SIGRTMIN+2');
  t.is(hostSignalForEmulatedGuest(KILL_SIGNAL.openrc), 'SIGPWR');
  t.is(hostSignalForEmulatedGuest('SIGTERM'), 'SIGTERM');
});
