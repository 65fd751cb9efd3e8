/**
 * What the components must agree on (docs/ARCHITECTURE.md, "What the components agree on"),
 * checked across all generated files: each file is
 * parsed the way its program reads it, and the names, secrets, ports and paths that must agree
 * are compared between the parsed files (not against the generators' own constants).
 */
import test from 'ava';
import { generateAll } from '../../../src/configurator/components/index.js';
import {
  directiveArgs,
  evaluateWebConfig,
  FACT_VARIANTS,
  fileAt,
  FIXTURES,
  loadFixture,
  location,
  materialize,
  parseHocon,
  parseNginx,
  parseTurnserverConf,
  readProsodyConfig,
  single,
} from '../../helpers/generated-files.js';
import { withScratchDir } from '../../helpers/scratch.js';

function splitJid(jid: string): { local: string; domain: string } {
  const at = jid.indexOf('@');
  return { local: jid.slice(0, at), domain: jid.slice(at + 1) };
}

for (const fixture of FIXTURES) {
  for (const { label, facts } of FACT_VARIANTS) {
    test(`${fixture}, ${label}: every component agrees on names, secrets, ports and paths`, async (t) => {
      const config = await loadFixture(fixture);
      const H = config.hostname;
      const files = generateAll(config, facts);
      await withScratchDir('consistency-', async (root) => {
        await materialize(files, root);
        const prosody = await readProsodyConfig(root);
        const jicofo = (await parseHocon(fileAt(files, '/etc/jitsi/jicofo/jicofo.conf').content)).jicofo;
        const jvb = (await parseHocon(fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content)).videobridge;
        const jvbIce = (await parseHocon(fileAt(files, '/etc/jitsi/videobridge/jvb.conf').content)).ice4j;
        const web = evaluateWebConfig(fileAt(files, `/etc/jitsi/meet/${H}-config.js`).content);
        const site = parseNginx(fileAt(files, `/etc/nginx/sites-available/${H}.conf`).content);
        const turn = parseTurnserverConf(fileAt(files, '/etc/turnserver.conf').content);
        const client = jicofo.xmpp.client;
        const shard = jvb.apis['xmpp-client'].configs.shard;
        const hostOf = (name: string) => {
          const host = prosody.hosts[name];
          if (!host) throw new Error(`prosody has no host ${name}; has ${Object.keys(prosody.hosts).join(', ')}`);
          return host;
        };

        // XMPP domain: prosody VirtualHost (secure domain) = config.js domain = jicofo xmpp-domain = nginx server_name.
        t.is(hostOf(web.hosts.domain).kind, 'VirtualHost');
        t.is(hostOf(web.hosts.domain).options.authentication, 'internal_hashed');
        t.is(client['xmpp-domain'], web.hosts.domain);
        t.is(jicofo.authentication['login-url'], web.hosts.domain);
        for (const server of site.blocks.filter((block) => block.name === 'server')) {
          t.deepEqual(directiveArgs(server, 'server_name'), [[web.hosts.domain]]);
        }

        // Guests: config.js anonymousdomain is an anonymous VirtualHost.
        t.regex(String(hostOf(web.hosts.anonymousdomain).options.authentication), /anonymous$/);

        // Auth domain: internal_hashed VirtualHost = jicofo domain = jvb DOMAIN.
        t.is(client.domain, shard.DOMAIN);
        t.is(hostOf(client.domain).options.authentication, 'internal_hashed');

        // Brewery: the same MUC component and the same room (case-folded) in jicofo and jvb.
        const brewery = splitJid(jicofo.bridge['brewery-jid']);
        const jvbBrewery = splitJid(shard.MUC_JIDS);
        t.is(brewery.domain, jvbBrewery.domain);
        t.is(brewery.local.toLowerCase(), jvbBrewery.local.toLowerCase());
        t.is(hostOf(brewery.domain).module, 'muc');

        // Conference MUC: prosody muc component = config.js muc = jicofo conference-muc-jid.
        t.is(hostOf(web.hosts.muc).module, 'muc');
        t.is(client['conference-muc-jid'], web.hosts.muc);
        t.is(hostOf(web.hosts.muc).options.muc_room_locking, false);

        // focus: jicofo's account is an admin of both MUCs; the proxy forwards to that account.
        const focusJid = `${client.username}@${client.domain}`;
        t.is(client.username, 'focus');
        t.is(client.password, config.secrets.focus_password);
        t.true((hostOf(web.hosts.muc).options.admins as string[]).includes(focusJid));
        t.true((hostOf(brewery.domain).options.admins as string[]).includes(focusJid));
        t.is(client['client-proxy'], web.hosts.focus);
        if (facts.prosodyPluginsDir) {
          t.is(hostOf(web.hosts.focus).module, 'client_proxy');
          t.is(hostOf(web.hosts.focus).options.target_address, focusJid);
        }

        // jvb: its account is an admin (owner) of the members-only brewery.
        t.is(shard.PASSWORD, config.secrets.jvb_password);
        t.true((hostOf(brewery.domain).options.admins as string[]).includes(`${shard.USERNAME}@${shard.DOMAIN}`));

        // Loopback logins: jicofo and jvb connect where prosody's c2s listens.
        const c2sPorts = prosody.global.c2s_ports as number[];
        const c2sInterfaces = prosody.global.c2s_interfaces as string[];
        t.true(c2sPorts.includes(client.port) && c2sInterfaces.includes(client.hostname));
        t.true(c2sPorts.includes(Number(shard.PORT)) && c2sInterfaces.includes(shard.HOSTNAME));

        // TURN: prosody's secret and ports = coturn's.
        t.is(prosody.global.external_service_secret, single(turn, 'static-auth-secret'));
        t.true(turn.has('use-auth-secret'));
        const services = prosody.global.external_services as Array<Record<string, unknown>>;
        const coturnPorts = { turn: Number(single(turn, 'listening-port')), turns: Number(single(turn, 'tls-listening-port')) };
        for (const service of services) {
          t.is(service.port, service.type === 'turns' ? coturnPorts.turns : coturnPorts.turn, `${service.type}/${service.transport}`);
          t.is(service.host, web.hosts.domain);
        }
        t.deepEqual(web.p2p.stunServers, [{ urls: `stun:${web.hosts.domain}:${coturnPorts.turn}` }]);

        // Web certificate: nginx = coturn = prosody's main host.
        const tlsServer = site.blocks.find((block) => directiveArgs(block, 'ssl_certificate').length > 0)!;
        const [[cert]] = directiveArgs(tlsServer, 'ssl_certificate') as [[string]];
        const [[key]] = directiveArgs(tlsServer, 'ssl_certificate_key') as [[string]];
        t.is(single(turn, 'cert'), cert);
        t.is(single(turn, 'pkey'), key);
        t.deepEqual(hostOf(web.hosts.domain).options.ssl, { certificate: cert, key });

        // BOSH and websocket: config.js URLs name nginx's host and locations, which proxy to prosody's HTTP port.
        const prosodyHttp = `http://${(prosody.global.http_interfaces as string[])[0]}:${(prosody.global.http_ports as number[])[0]}`;
        const bosh = new URL(web.bosh);
        const websocket = new URL(web.websocket);
        t.is(bosh.protocol, 'https:');
        t.is(websocket.protocol, 'wss:');
        t.is(bosh.host, web.hosts.domain);
        t.is(websocket.host, web.hosts.domain);
        t.true(directiveArgs(location(tlsServer, '=', bosh.pathname), 'proxy_pass')[0]![0]!.startsWith(`${prosodyHttp}${bosh.pathname}`));
        t.true(directiveArgs(location(tlsServer, '=', websocket.pathname), 'proxy_pass')[0]![0]!.startsWith(`${prosodyHttp}${websocket.pathname}`));
        t.deepEqual(directiveArgs(location(tlsServer, '=', '/config.js'), 'alias'), [[`/etc/jitsi/meet/${H}-config.js`]]);

        // Colibri websockets: jvb's public domain is nginx's, and nginx proxies its server id to jvb's HTTP port.
        t.deepEqual(jvb.websockets.domains, [`${web.hosts.domain}:443`]);
        const colibri = location(tlsServer, '~', `^/colibri-ws/${jvb.websockets['server-id']}/(.*)`);
        t.true(directiveArgs(colibri, 'proxy_pass')[0]![0]!.startsWith(`http://${jvb['http-servers'].public.host}:${jvb['http-servers'].public.port}/`));

        // Media address: a static mapping exactly when behind NAT, the same pair as coturn's external-ip.
        if (config.internal_ip !== config.external_ip) {
          const [mapping] = jvbIce.harvest.mapping['static-mappings'];
          t.is(`${mapping['public-address']}/${mapping['local-address']}`, single(turn, 'external-ip'));
        } else {
          t.false('static-mappings' in jvbIce.harvest.mapping);
          t.false(turn.has('external-ip'));
        }
      });
    });
  }
}
