/**
 * /etc/hosts and /etc/hostname. The image is ours, so /etc/hosts is written whole. The
 * hostname alias goes on 127.0.0.1 only: the loopback services (prosody, the bridge) listen
 * on IPv4 loopback, and a name that also resolved to ::1 would send local clients there first.
 */
import type { Component, GeneratedFile } from '../types.js';

export const ETC_HOSTS = '/etc/hosts';
export const ETC_HOSTNAME = '/etc/hostname';

export const hostsComponent: Component = {
  name: 'hosts',
  packages: [],
  plan(config) {
    const aliases = ['localhost'];
    if (config.localhost_alias && config.hostname !== 'localhost') aliases.push(config.hostname);
    const hosts = [
      '# Written by jitsi-meet-config from /etc/jitsi/master-config.yaml; edits here are replaced.',
      `127.0.0.1\t${aliases.join(' ')}`,
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '',
    ].join('\n');
    const files: GeneratedFile[] = [{ path: ETC_HOSTS, content: hosts, mode: 0o644, owner: 'root:root' }];
    if (config.write_etc_hostname) {
      files.push({ path: ETC_HOSTNAME, content: `${config.hostname}\n`, mode: 0o644, owner: 'root:root' });
    }
    return {
      files,
    };
  },
};
