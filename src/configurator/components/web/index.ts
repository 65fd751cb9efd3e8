/**
 * The web app's config.js: where the browser finds the XMPP domains, the BOSH and websocket
 * endpoints behind nginx, and a STUN server for peer-to-peer calls (coturn on this host).
 */
import { PORTS, publicUrls, webConfigPath, xmppNames } from '../names.js';
import type { Component, GeneratedFile } from '../types.js';

export const webComponent: Component = {
  name: 'web',
  packages: ['jitsi-meet-web'],
  plan(config) {
    const names = xmppNames(config.hostname);
    const urls = publicUrls(config.hostname);
    const settings = {
      hosts: {
        domain: names.domain,
        // Guests log in anonymously here; the convener authenticates on `domain` to open a room.
        anonymousdomain: names.guestDomain,
        authdomain: names.domain,
        muc: names.conferenceMuc,
        focus: names.focusComponent,
      },
      bosh: urls.bosh,
      websocket: urls.websocket,
      clientNode: 'https://jitsi.org/jitsi-meet',
      p2p: {
        enabled: true,
        stunServers: [{ urls: `stun:${names.domain}:${PORTS.turn}` }],
      },
      // Nothing on this server may depend on third-party services (gravatar, analytics):
      // it must work on an isolated LAN.
      disableThirdPartyRequests: true,
      analytics: { disabled: true },
    };
    const content = [
      `// Jitsi Meet web client settings for ${names.domain}.`,
      '// Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.',
      `var config = ${JSON.stringify(settings, null, 4)};`,
      '',
      '// Loaded by the browser as a plain script; also usable as a CommonJS module (tests, tools).',
      "if (typeof module === 'object' && module.exports) module.exports = config;",
      '',
    ].join('\n');
    const files: GeneratedFile[] = [{ path: webConfigPath(config.hostname), content, mode: 0o644, owner: 'root:root' }];
    return {
      files,
    };
  },
};
