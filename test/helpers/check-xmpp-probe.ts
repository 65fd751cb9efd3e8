/**
 * Runs the configurator's own minimal XMPP client (src/configurator/check/xmpp.ts) from the
 * test's network namespace against a configured container's prosody, for the parts `--check`
 * uses only where Jitsi's packages are installed: the roster query and the brewery occupants.
 * Input on stdin (JSON): { authDomain, focusPassword, jvbPassword, brewery }; output: JSON.
 */
import { XmppSession } from '../../src/configurator/check/xmpp.js';

const input = JSON.parse(await new Promise<string>((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text));
})) as { authDomain: string; focusPassword: string; jvbPassword: string; brewery: string };

const target = (username: string, password: string) => ({ host: '127.0.0.1', port: 5222, domain: input.authDomain, username, password, timeoutMs: 5000 });
const jvb = await XmppSession.login(target('jvb', input.jvbPassword), 'bridge');
// The bridge's side: it sits in the brewery under its nickname, as the videobridge does.
const jvbSees = await jvb.occupants(input.brewery, 'jvb-probe', true).catch((error: Error) => `error: ${error.message}`);
const focus = await XmppSession.login(target('focus', input.focusPassword), 'check');
const roster = await focus.roster();
const occupants = await focus.occupants(input.brewery, 'jitsi-meet-config-check');
let wrong = '';
await XmppSession.login(target('focus', `${input.focusPassword}-wrong`), 'check').then(
  (session) => session.close(),
  (error: Error & { kind?: string }) => (wrong = `${error.kind}: ${error.message}`),
);
focus.close();
jvb.close();
process.stdout.write(JSON.stringify({ jvbSees, roster, occupants, wrong }));
