/**
 * The bridge role's pure parts: what a bridge host plans (only the videobridge, logging in to the
 * main server with verification, trusting the pinned certificate), its config file's checks and
 * its answers file. The whole role, against a running main server: test/integration/bridges.
 */
import test from 'ava';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateSha256, encodeJoinToken } from '../../src/configurator/bridge-config.js';
import { BRIDGE_UNIT, loadBridgeAnswers, parseBridgeConfig, planBridge, serializeBridgeConfig } from '../../src/configurator/bridge-role.js';
import { retiredAccounts } from '../../src/configurator/apply/index.js';
import { emptyPlan } from '../../src/configurator/components/index.js';
import { JVB_CONF } from '../../src/configurator/components/videobridge/index.js';
import { caStoreCopy } from '../../src/configurator/paths.js';
import { parseHocon } from '../helpers/generated-files.js';
import { scratchDir } from '../helpers/scratch.js';
import { DEBIAN } from '../../src/configurator/distribution.js';

async function selfSigned(dir: string): Promise<string> {
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=auth.meet.example.org', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')]);
  return readFile(join(dir, 'c.pem'), 'utf8');
}

async function bridgeConfig() {
  const certificate = await selfSigned(await scratchDir('bridge-role-'));
  return {
    role: 'bridge' as const,
    main: { hostname: 'meet.example.org', address: '10.0.0.5', port: 5222, brewery: 'JvbBrewery@internal.auth.meet.example.org', certificate_sha256: certificateSha256(certificate), certificate },
    bridge: { name: 'bridge2', password: 'p'.repeat(43) },
    external_ip: '198.51.100.9',
    internal_ip: '10.0.1.9',
    jvb_max_memory: '2g',
  };
}

test('a bridge host plans only the videobridge: verified login to the main server, the pinned certificate trusted, its own unit', async (t) => {
  const config = await bridgeConfig();
  const plan = planBridge(config, DEBIAN);
  t.is(plan.serverUnit, BRIDGE_UNIT);
  t.deepEqual(plan.services.map((service) => service.name), ['jitsi-videobridge2']);
  t.deepEqual(plan.accounts, [], 'no prosody here');
  t.deepEqual(plan.certificates, [], 'no TLS material of its own');
  const trusted = plan.files.find((file) => file.path === caStoreCopy('meet.example.org'))!;
  t.is(trusted.content, config.main.certificate);
  t.true(plan.services[0]!.reads.includes(trusted.path), 'a new certificate restarts the bridge');
  const jvb = (await parseHocon(plan.files.find((file) => file.path === JVB_CONF)!.content)).videobridge;
  t.like(jvb.apis['xmpp-client'].configs.shard, {
    HOSTNAME: '10.0.0.5',
    PORT: '5222',
    DOMAIN: 'auth.meet.example.org',
    USERNAME: 'jvb-bridge2',
    PASSWORD: config.bridge.password,
    MUC_JIDS: config.main.brewery,
    MUC_NICKNAME: 'jvb-bridge2',
    DISABLE_CERTIFICATE_VERIFICATION: false,
  });
  t.false(jvb.websockets.enabled, 'no colibri websockets: nginx on the main server cannot reach this host');
  t.true(jvb.health['require-valid-address'], 'a public external address is required to be valid');
});

test('the bridge config file: a certificate that does not match the pinned fingerprint is refused, naming the key', async (t) => {
  const config = await bridgeConfig();
  t.deepEqual(parseBridgeConfig(serializeBridgeConfig(config), 'm.yaml'), config);
  const other = await selfSigned(await scratchDir('bridge-role-other-'));
  const error = t.throws(() => parseBridgeConfig(serializeBridgeConfig({ ...config, main: { ...config.main, certificate: other } }), 'm.yaml'));
  t.regex(String((error as { issues?: Array<{ path: string }> }).issues?.[0]?.path), /main\.certificate/);
});

test('bridge answers file: the token decoded, defaults from the token and the machine, problems with file and line', async (t) => {
  const dir = await scratchDir('bridge-answers-');
  const token = encodeJoinToken({ hostname: 'meet.example.org', address: '10.0.0.5', port: 5222, name: 'bridge2', password: 'p'.repeat(43), brewery: 'JvbBrewery@internal.auth.meet.example.org', certificateSha256: Array(32).fill('AB').join(':') });
  await writeFile(join(dir, 'a.yaml'), `role: bridge\njoin_token: ${token}\n`);
  t.like(await loadBridgeAnswers(join(dir, 'a.yaml'), '192.0.2.4'), { mainAddress: '10.0.0.5', externalIp: '192.0.2.4', internalIp: '192.0.2.4', maxMemory: '1024m' });
  await writeFile(join(dir, 'b.yaml'), `role: bridge\nexternal_ip: 300.1.1.1\njoin_token: nope\n`);
  const issues = await loadBridgeAnswers(join(dir, 'b.yaml'), undefined);
  t.true(Array.isArray(issues));
  t.like((issues as Array<{ path: string; line?: number }>)[0], { path: 'external_ip', line: 2 });
});

test('retired accounts: those of the previous plan that this one lacks (a removed bridge), none without a previous plan', (t) => {
  const account = (username: string) => ({ username, host: 'auth.h', password: 'x'.repeat(20) });
  const previous = { ...emptyPlan('u', DEBIAN), accounts: [account('jvb'), account('jvb-b2'), account('jvb-b3')] };
  const current = { ...emptyPlan('u', DEBIAN), accounts: [account('jvb'), account('jvb-b3')] };
  t.deepEqual(retiredAccounts(current, previous).map((a) => a.username), ['jvb-b2']);
  t.deepEqual(retiredAccounts(current, undefined), []);
});
