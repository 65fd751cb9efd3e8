/**
 * The master config: `/etc/jitsi/master-config.yaml`, the one place an admin's answers and
 * the generated secrets live. Every component's configuration is derived from it, so
 * anything that must agree across components (names, passwords, ports, cert paths) agrees
 * by construction.
 *
 * This table is the single schema of the format: validation, defaults and the reference
 * docs all come from it. Input rules (FQDN, addresses, memory sizes, e-mail) are checks on
 * the fields; rules that relate several fields live in `crossFieldProblems`.
 */
import { isIP } from 'node:net';
import { boolean, object, oneOf, optional, string, type Infer, type Issue } from '../lib/schema.js';
import {
  checkAcmeServer,
  checkEmail,
  checkHostname,
  checkIp,
  checkMemory,
  checkPasswordCharacters,
  checkUsername,
  isLocalHostname,
  isPublicAddress,
} from './validators.js';

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

export const masterConfigSchema = object(
  {
    hostname: string({
      doc: 'Public name of the server: `localhost` or a fully qualified domain name. Also the XMPP domain.',
      check: checkHostname,
    }),
    external_ip: string({ doc: 'Address clients reach the server at (IPv4 or IPv6).', check: checkIp }),
    internal_ip: string({
      doc: 'Address of this machine\'s interface. Differs from `external_ip` behind NAT; the videobridge then maps one to the other.',
      check: checkIp,
    }),
    localhost_alias: boolean({ doc: 'Add the hostname as an alias of 127.0.0.1 in /etc/hosts.', default: true }),
    write_etc_hostname: boolean({ doc: 'Write the hostname to /etc/hostname.', default: true }),
    jvb_max_memory: string({
      doc: 'Maximum Java heap of the videobridge, and of jicofo: a number with k, m or g, at least 256m.',
      default: '1024m',
      check: checkMemory,
    }),
    convener: object(
      {
        username: string({
          doc: 'The only user who may open a room (secure domain). Guests join without credentials.',
          default: 'admin',
          check: checkUsername,
        }),
        password: string({ doc: 'Password of the convener. Generated as a five-word passphrase when left out.', check: checkPasswordCharacters }),
      },
      { doc: 'The convener account on the XMPP domain.' },
    ),
    tls: object(
      {
        mode: oneOf(['self-signed', 'own', 'letsencrypt'] as const, {
          doc: 'Where the web certificate comes from.',
          default: 'self-signed',
        }),
        cert: optional(string({ doc: 'With mode `own`: path of the certificate (PEM, full chain).' })),
        key: optional(string({ doc: 'With mode `own`: path of the matching private key (PEM).' })),
      },
      { doc: 'TLS certificate for the web server and TURN over TLS.' },
    ),
    letsencrypt: object(
      {
        email: optional(string({ doc: 'Contact address for the ACME account (mode `letsencrypt`).', check: checkEmail })),
        server: string({ doc: 'ACME directory URL (https).', default: LETS_ENCRYPT_DIRECTORY, check: checkAcmeServer }),
      },
      { doc: 'Let\'s Encrypt (ACME) settings, used with tls.mode `letsencrypt`.' },
    ),
    secrets: object(
      {
        focus_password: string({ doc: 'Password of focus@auth.<hostname> (jicofo).', hidden: true, check: checkSecret }),
        jvb_password: string({ doc: 'Password of jvb@auth.<hostname> (videobridge).', hidden: true, check: checkSecret }),
        turn_secret: string({ doc: 'Shared secret of prosody and coturn for TURN credentials.', hidden: true, check: checkSecret }),
      },
      { doc: 'Generated from a CSPRNG on first configure; never asked for. `--rotate-secrets` replaces them.', hidden: true },
    ),
  },
  { doc: 'Master config of a Jitsi Meet server' },
);

export type MasterConfig = Infer<typeof masterConfigSchema>;
export type TlsMode = MasterConfig['tls']['mode'];

/** Rules spanning several keys. Each issue names the key an admin has to change. */
/**
 * A secret as the configurator makes them, or one an admin set by hand that every component
 * file takes without quoting: 16 to 512 URL-safe characters.
 */
export function checkSecret(value: string): string | undefined {
  if (/^[A-Za-z0-9_-]{16,512}$/.test(value)) return undefined;
  return 'not a usable secret (16 to 512 of A-Z, a-z, 0-9, _ and -): put the old value back, or run jitsi-meet-config --rotate-secrets to make new ones everywhere';
}

export function crossFieldProblems(config: MasterConfig): Issue[] {
  const issues: Issue[] = [];
  const family = (address: string) => (isIP(address) === 6 ? 'IPv6' : 'IPv4');
  if (family(config.internal_ip) !== family(config.external_ip)) {
    // The videobridge maps one address to the other (NAT); that works only within one family.
    issues.push({
      path: 'internal_ip',
      message: `${config.internal_ip} is ${family(config.internal_ip)} but the external address ${config.external_ip} is ${family(config.external_ip)}: give both of one family`,
    });
  }
  if (config.tls.mode === 'own') {
    if (!config.tls.cert) issues.push({ path: 'tls.cert', message: 'tls.mode is `own`: give the path of your certificate' });
    if (!config.tls.key) issues.push({ path: 'tls.key', message: 'tls.mode is `own`: give the path of your private key' });
  }
  if (config.tls.mode === 'letsencrypt') {
    if (isLocalHostname(config.hostname)) {
      issues.push({ path: 'tls.mode', message: `Let's Encrypt cannot certify ${config.hostname}: use self-signed or own` });
    }
    if (!isPublicAddress(config.external_ip) && config.letsencrypt.server === LETS_ENCRYPT_DIRECTORY) {
      issues.push({
        path: 'tls.mode',
        message: `Let's Encrypt cannot reach the private address ${config.external_ip}: use self-signed or own`,
      });
    }
    if (!config.letsencrypt.email) {
      issues.push({ path: 'letsencrypt.email', message: 'tls.mode is `letsencrypt`: give a contact e-mail address' });
    }
  }
  return issues;
}
