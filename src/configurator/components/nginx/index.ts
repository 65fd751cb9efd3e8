/**
 * The nginx site: port 80 answers ACME http-01 challenges and redirects everything else to
 * HTTPS; port 443 serves the web app, its config.js, and proxies BOSH, the XMPP websocket and
 * the bridge's colibri websockets to the loopback services.
 */
import { dirname, relative } from 'node:path/posix';
import { nginxSiteFiles } from '../../distribution.js';
import { ACME_WEBROOT, webTls } from '../../paths.js';
import { JVB_SERVER_ID, LOOPBACK, PORTS, webConfigPath } from '../names.js';
import type { Component, GeneratedFile } from '../types.js';

export const WEB_ROOT = '/usr/share/jitsi-meet';

/** Settings every proxied location needs so prosody and the bridge see the public name and client. */
const PROXY_HEADERS = [
  'proxy_set_header Host $host;',
  'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  'proxy_set_header X-Forwarded-Proto $scheme;',
];

const WEBSOCKET_PROXY = [
  'proxy_http_version 1.1;',
  'proxy_set_header Upgrade $http_upgrade;',
  'proxy_set_header Connection "upgrade";',
  ...PROXY_HEADERS,
  // A quiet conference keeps its websocket open for hours; nginx's 60 s default would cut it.
  'proxy_read_timeout 900s;',
  'proxy_send_timeout 900s;',
  'tcp_nodelay on;',
];

function block(indent: string, head: string, body: readonly string[]): string[] {
  return [`${indent}${head} {`, ...body.map((line) => (line ? `${indent}    ${line}` : '')), `${indent}}`];
}

export function siteConfig(hostname: string): string {
  const tls = webTls(hostname);
  const prosody = `http://${LOOPBACK}:${PORTS.prosodyHttp}`;
  const bridge = `http://${LOOPBACK}:${PORTS.jvbHttp}`;
  const lines = [
    `# Jitsi Meet on ${hostname}. Written by jitsi-meet-config from /etc/jitsi/master-config.yaml;`,
    '# edits here are replaced on the next run.',
    '',
    '# Long host names need bigger buckets than some CPUs\' default.',
    'server_names_hash_bucket_size 64;',
    '',
    ...block('', 'server', [
      `listen ${PORTS.http} default_server;`,
      `listen [::]:${PORTS.http} default_server;`,
      `server_name ${hostname};`,
      '# No nginx version in error pages and headers.',
      'server_tokens off;',
      '',
      '# Let\'s Encrypt http-01 challenges: served as files, never redirected.',
      ...block('', 'location ^~ /.well-known/acme-challenge/', [`root ${ACME_WEBROOT};`, 'default_type text/plain;', 'try_files $uri =404;']),
      ...block('', 'location /', ['return 301 https://$host$request_uri;']),
    ]),
    '',
    ...block('', 'server', [
      `listen ${PORTS.https} ssl http2 default_server;`,
      `listen [::]:${PORTS.https} ssl http2 default_server;`,
      `server_name ${hostname};`,
      'server_tokens off;',
      '',
      `ssl_certificate ${tls.cert};`,
      `ssl_certificate_key ${tls.key};`,
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_prefer_server_ciphers off;',
      'ssl_session_cache shared:jitsi_meet_ssl:10m;',
      'ssl_session_timeout 1d;',
      'add_header Strict-Transport-Security "max-age=63072000" always;',
      '',
      `root ${WEB_ROOT};`,
      '# The web app assembles index.html from server-side includes.',
      'ssi on;',
      'ssi_types application/javascript;',
      'index index.html;',
      'error_page 404 /static/404.html;',
      '',
      ...block('', 'location = /config.js', [`alias ${webConfigPath(hostname)};`, 'default_type application/javascript;']),
      ...block('', 'location = /external_api.js', [`alias ${WEB_ROOT}/libs/external_api.min.js;`]),
      ...block('', 'location ~ ^/(libs|css|static|images|fonts|lang|sounds|\\.well-known)/(.*)$', [
        'add_header Access-Control-Allow-Origin "*";',
        `alias ${WEB_ROOT}/$1/$2;`,
      ]),
      '',
      '# XMPP over BOSH and over websocket, to prosody on loopback.',
      ...block('', 'location = /http-bind', [`proxy_pass ${prosody}/http-bind$is_args$args;`, ...PROXY_HEADERS]),
      ...block('', 'location = /xmpp-websocket', [`proxy_pass ${prosody}/xmpp-websocket$is_args$args;`, ...WEBSOCKET_PROXY]),
      '',
      '# Bridge channels (colibri websockets) to the videobridge on loopback.',
      ...block('', `location ~ ^/colibri-ws/${JVB_SERVER_ID}/(.*)`, [
        `proxy_pass ${bridge}/colibri-ws/${JVB_SERVER_ID}/$1$is_args$args;`,
        ...WEBSOCKET_PROXY,
      ]),
      '',
      '# A room is a single path segment (https://host/MyRoom): the app\'s index.html handles it.',
      ...block('', 'location ~ ^/([^/?&:\'"]+)$', ['try_files $uri @room;']),
      ...block('', 'location @room', ['rewrite ^/(.*)$ / break;']),
    ]),
    '',
  ];
  return lines.join('\n');
}

export const nginxComponent: Component = {
  name: 'nginx',
  packages: ['nginx'],
  plan(config, facts) {
    const layout = facts.distribution;
    const site = nginxSiteFiles(layout, config.hostname);
    const files: GeneratedFile[] = [
      { path: site.available, content: siteConfig(config.hostname), mode: 0o644, owner: 'root:root' },
      // Enabled by a relative link where the distribution keeps enabled sites apart.
      ...(site.enabled ? [{ path: site.enabled, content: '', linkTo: relative(dirname(site.enabled), site.available) }] : []),
      // The distribution's own default sites would be a second default_server on port 80.
      ...layout.nginx.conflictingDefaults.map((path): GeneratedFile => ({ path, content: '', remove: true })),
    ];
    return {
      files,
      services: [{ name: 'nginx', reload: true, reads: [`${layout.nginx.configDir}/`, webTls(config.hostname).cert, webTls(config.hostname).key] }],
      // certbot writes its challenges here and nginx serves them on port 80.
      directories: [{ path: ACME_WEBROOT, owner: 'root:root', mode: 0o755 }],
    };
  },
};
