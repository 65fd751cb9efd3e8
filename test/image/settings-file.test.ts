import test from 'ava';
import { KILL_SIGNAL, nspawnSettings } from '../../src/image/settings-file.js';

/** `[Section] Key=Value` lines of a .nspawn file, comments dropped. */
function parseSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = line.match(/^\[(\w+)\]$/);
    if (header) {
      section = header[1];
      continue;
    }
    const pair = line.match(/^(\w+)=(.*)$/);
    if (!pair) throw new Error(`not a setting: ${line}`);
    settings.set(`${section}.${pair[1]}`, pair[2]);
  }
  return settings;
}

test('both images get host network and no user namespace, and no capability beyond the default set', (t) => {
  for (const init of ['systemd', 'openrc'] as const) {
    const settings = parseSettings(nspawnSettings(init));
    t.is(settings.get('Exec.Boot'), 'yes', init);
    t.is(settings.get('Exec.PrivateUsers'), 'no', init);
    // On the host's network, CAP_NET_ADMIN would let the container change the host's addresses
    // and routes; nothing in the image needs it.
    t.false(settings.has('Exec.Capability'), init);
    t.is(settings.get('Network.VirtualEthernet'), 'no', init);
    // systemd-nspawn@.service passes --network-veth: the file must not leave the network to defaults.
    t.is(settings.get('Network.Private'), 'no', init);
  }
});

test('the file says where it must be installed and what happens elsewhere', (t) => {
  for (const init of ['systemd', 'openrc'] as const) {
    const text = nspawnSettings(init);
    t.regex(text, /mkdir -p \/etc\/systemd\/nspawn/, init);
    t.regex(text, /\/var\/lib\/machines\/ systemd ignores the privileged ones/, init);
  }
});

test('only the systemd image tells systemd-nspawn to wait for its boot (sysvinit sends no READY=1)', (t) => {
  t.is(parseSettings(nspawnSettings('systemd')).get('Exec.NotifyReady'), 'yes');
  t.false(parseSettings(nspawnSettings('openrc')).has('Exec.NotifyReady'));
});

test('only the OpenRC image changes the stop signal, to one sysvinit acts on', (t) => {
  t.is(parseSettings(nspawnSettings('openrc')).get('Exec.KillSignal'), 'SIGPWR');
  t.is(KILL_SIGNAL.openrc, 'SIGPWR');
  t.false(parseSettings(nspawnSettings('systemd')).has('Exec.KillSignal'));
});
