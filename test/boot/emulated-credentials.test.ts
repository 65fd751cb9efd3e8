import test from 'ava';
import { credentialsDropIn, unitsWithCredentials } from '../../src/boot/emulated-credentials.js';

test('the units that set credentials are found; comments, empty assignments and other units are not', (t) => {
  const units = new Map([
    ['systemd-tmpfiles-setup-dev.service', '[Service]\nType=oneshot\nLoadCredential=tmpfiles.extra\n'],
    ['systemd-sysusers.service', '[Service]\nSetCredentialEncrypted=x: y\n'],
    ['nginx.service', '[Service]\nExecStart=/usr/sbin/nginx\n# LoadCredential=cert\n'],
    ['reset.service', '[Service]\nLoadCredential=\n'],
    ['systemd-tmpfiles-setup.socket', 'LoadCredential=nonsense\n'],
  ]);
  t.deepEqual(unitsWithCredentials(units), ['systemd-sysusers.service', 'systemd-tmpfiles-setup-dev.service']);
});

test('the drop-in resets every credential list of the service', (t) => {
  const text = credentialsDropIn();
  t.regex(text, /^\[Service\]$/m);
  for (const key of ['LoadCredential', 'LoadCredentialEncrypted', 'SetCredential', 'SetCredentialEncrypted']) t.regex(text, new RegExp(`^${key}=$`, 'm'));
});
