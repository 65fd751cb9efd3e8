import test from 'ava';
import { errorCount, formatInspectReport, inspectTarball, type InspectReport } from '../../../src/release/inspect/index.js';
import { CLEAN_TREE, makeTree, packTree, type Tree } from '../../helpers/image-trees.js';
import { removeDebconfSecrets, removeGeneratedJitsiConfigs, removePlaceholderAccounts, removePlaceholderCertificates } from '../../../src/builder/jitsi-leftovers.js';

function findings(report: InspectReport): string[] {
  return report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity} ${f.kind} ${f.path}`).sort();
}

async function inspect(extra: Tree): Promise<InspectReport> {
  return inspectTarball(await packTree(await makeTree({ ...CLEAN_TREE, ...extra })));
}

const answer = (name: string, value?: string) => [`Name: ${name}`, `Template: ${name}`, ...(value === undefined ? [] : [`Value: ${value}`]), 'Owners: jicofo', 'Flags: seen'].join('\n');

test('the clean tree has no error (so what follows is what the Jitsi files add)', async (t) => {
  const report = await inspect({});
  t.deepEqual(findings(report), []);
});

test("a debconf password answer is a 'debconf-secret' error naming the question", async (t) => {
  const passwords = [answer('jicofo/jicofo-authpassword', 'Zm9jdXMtc2VjcmV0'), answer('jitsi-videobridge/jvbsecret'), answer('jitsi-meet-prosody/turn-secret', 'dHVybg')].join('\n\n') + '\n\n';
  const report = await inspect({ 'var/cache/debconf/passwords.dat': { content: passwords, mode: 0o600 } });
  t.deepEqual(findings(report), ['error debconf-secret /var/cache/debconf/passwords.dat']);
  const finding = report.findings.find((f) => f.kind === 'debconf-secret')!;
  t.true(finding.message.includes('jicofo/jicofo-authpassword, jitsi-meet-prosody/turn-secret'), finding.message);
  t.false(finding.message.includes('jitsi-videobridge/jvbsecret'), 'a question without a value holds no secret');
  t.false(finding.message.includes('Zm9jdXMtc2VjcmV0'), 'the report does not repeat the secret');
  t.is(errorCount(report), 1);
  t.regex(formatInspectReport(report), /ERROR \/var\/cache\/debconf\/passwords\.dat: debconf holds answers to password questions/);

  // The last stanza, without a trailing blank line, counts too.
  const last = await inspect({ 'var/cache/debconf/passwords.dat': answer('jicofo/jicofo-authpassword', 'x') });
  t.deepEqual(findings(last), ['error debconf-secret /var/cache/debconf/passwords.dat']);
});

test('passwords.dat without Value lines (what the debconf-secrets step leaves), or empty, is no finding', async (t) => {
  const cleaned = [answer('jicofo/jicofo-authpassword'), answer('jitsi-videobridge/jvbsecret'), answer('jitsi-meet-prosody/turn-secret')].join('\n\n') + '\n\n';
  t.deepEqual(findings(await inspect({ 'var/cache/debconf/passwords.dat': { content: cleaned, mode: 0o600 } })), []);
  t.deepEqual(findings(await inspect({ 'var/cache/debconf/passwords.dat': '' })), []);
  // An empty value is no secret either.
  t.deepEqual(findings(await inspect({ 'var/cache/debconf/passwords.dat': 'Name: jicofo/jicofo-authpassword\nValue: \nOwners: jicofo\n\n' })), []);
});

test("a generated jicofo or videobridge config is a 'jitsi-generated-config' error; logging.properties and empty files are not", async (t) => {
  const report = await inspect({
    'etc/jitsi/jicofo/jicofo.conf': 'jicofo { xmpp { client { password: "Zm9jdXM" } } }\n',
    'etc/jitsi/jicofo/config': 'JICOFO_AUTH_PASSWORD=Zm9jdXM\n',
    'etc/jitsi/videobridge/jvb.conf': 'videobridge { }\n',
    'etc/jitsi/videobridge/config': 'JVB_SECRET=x\n',
    'etc/jitsi/jicofo/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
    'etc/jitsi/videobridge/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
  });
  t.deepEqual(findings(report), [
    'error jitsi-generated-config /etc/jitsi/jicofo/config',
    'error jitsi-generated-config /etc/jitsi/jicofo/jicofo.conf',
    'error jitsi-generated-config /etc/jitsi/videobridge/config',
    'error jitsi-generated-config /etc/jitsi/videobridge/jvb.conf',
  ]);

  const one = await inspect({ 'etc/jitsi/jicofo/jicofo.conf': 'jicofo { }\n' });
  t.deepEqual(findings(one), ['error jitsi-generated-config /etc/jitsi/jicofo/jicofo.conf']);
  t.regex(one.findings.find((f) => f.kind === 'jitsi-generated-config')!.message, /the configurator writes it/);

  const packaged = await inspect({
    'etc/jitsi/jicofo/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
    'etc/jitsi/videobridge/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
    'etc/jitsi/jicofo/jicofo.conf': '',
  });
  t.deepEqual(findings(packaged), []);
  t.is(errorCount(packaged), 0);
});

test("what Jitsi's scripts leave fails inspect, and the build's cleanup steps leave nothing inspect reports", async (t) => {
  const root = await makeTree({
    ...CLEAN_TREE,
    'var/cache/debconf/passwords.dat': { content: [answer('jicofo/jicofo-authpassword', 'Zm9jdXM'), answer('jitsi-videobridge/jvbsecret', 'anZi')].join('\n\n') + '\n\n', mode: 0o600 },
    'etc/jitsi/jicofo/jicofo.conf': 'jicofo { }\n',
    'etc/jitsi/jicofo/config': 'JICOFO_AUTH_PASSWORD=Zm9jdXM\n',
    'etc/jitsi/videobridge/jvb.conf': 'videobridge { }\n',
    'etc/jitsi/videobridge/config': 'JVB_SECRET=anZi\n',
    'etc/jitsi/videobridge/logging.properties': 'handlers = java.util.logging.ConsoleHandler\n',
    'var/lib/prosody/auth.jitsi-placeholder.invalid.key': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
    'var/lib/prosody/auth%2ejitsi%2dplaceholder%2einvalid/accounts/focus.dat': 'return { password = "x" }',
  });
  t.deepEqual(findings(await inspectTarball(await packTree(root))), [
    'error debconf-secret /var/cache/debconf/passwords.dat',
    'error jitsi-generated-config /etc/jitsi/jicofo/config',
    'error jitsi-generated-config /etc/jitsi/jicofo/jicofo.conf',
    'error jitsi-generated-config /etc/jitsi/videobridge/config',
    'error jitsi-generated-config /etc/jitsi/videobridge/jvb.conf',
    'error private-key /var/lib/prosody/auth.jitsi-placeholder.invalid.key',
    'error prosody-account /var/lib/prosody/auth%2ejitsi%2dplaceholder%2einvalid/accounts/focus.dat',
  ]);
  await removePlaceholderCertificates(root);
  await removePlaceholderAccounts(root);
  await removeGeneratedJitsiConfigs(root);
  await removeDebconfSecrets(root);
  t.deepEqual(findings(await inspectTarball(await packTree(root))), []);
});
