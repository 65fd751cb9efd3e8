/**
 * What `inspect` looks for in an image tarball, one entry at a time. Everything here works on
 * archive entries and small file contents, so the same checks run on a downloaded release
 * (`nspawn-jitsi inspect`) and on every artifact at the end of a build.
 *
 * Severities: `error` is per-instance state or a secret that must never ship, or a file that
 * hands out root (the build fails and inspect exits non-zero); `warning` is worth a look
 * (unexpected setuid programs, ordinary file capabilities, stale apt lists); `info` is
 * expected and listed for completeness (su, passwd and friends).
 */
import { posix } from 'node:path';
import { INIT_PROGRAMS } from '../../image/init-detection.js';
import { normalizeEntryPath, type ArchiveEntry } from '../../image/tarball.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** Stable id: what kind of finding (for filtering and tests). */
  kind: string;
  /** Path in the archive (`/etc/machine-id`) or the archive itself (`(archive)`). */
  path: string;
  message: string;
}

/** Packages whose versions `inspect` reports: the Jitsi components and what serves them. */
export const COMPONENT_PACKAGES = ['jicofo', 'jitsi-videobridge2', 'jitsi-meet-web', 'jitsi-meet-prosody', 'prosody', 'nginx', 'coturn'] as const;

/**
 * setuid/setgid programs a Debian server image normally carries (from login, passwd, mount,
 * util-linux, sudo, openssh, dbus, cron, polkit, fuse...). Anything else is worth a warning.
 */
export const EXPECTED_SETID = new Set([
  'su', 'passwd', 'chsh', 'chfn', 'gpasswd', 'newgrp', 'chage', 'expiry', 'mount', 'umount', 'sudo', 'unix_chkpwd',
  'ssh-keysign', 'ssh-agent', 'dbus-daemon-launch-helper', 'pkexec', 'polkit-agent-helper-1', 'fusermount', 'fusermount3',
  'crontab', 'wall', 'write', 'bsd-write', 'ping', 'newuidmap', 'newgidmap', 'dotlockfile', 'utempter', 'plocate', 'mlocate',
]);

/** Capability numbers to names (linux/capability.h; 40 is the last one Linux 6.x defines). */
const CAPABILITY_NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'linux_immutable',
  'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio', 'sys_chroot',
  'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease',
  'audit_write', 'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read',
  'perfmon', 'bpf', 'checkpoint_restore',
].map((name) => `cap_${name}`);

/**
 * Capabilities ordinary programs carry instead of setuid root (ping's cap_net_raw, a server's
 * cap_net_bind_service): none of them reads or writes other users' files or becomes root, so
 * they are a warning. Every other one (cap_setuid, cap_sys_admin, cap_dac_override,
 * cap_sys_ptrace, cap_net_admin, unknown ones...) leads to root or past file permissions, so a
 * file carrying it is an error.
 */
export const USUAL_CAPABILITIES = new Set(['cap_net_raw', 'cap_net_bind_service', 'cap_net_broadcast', 'cap_ipc_lock', 'cap_sys_nice', 'cap_wake_alarm', 'cap_block_suspend', 'cap_audit_write']);

/**
 * A `security.capability` value (struct vfs_cap_data: revision and effective flag, then
 * permitted and inheritable words) as getcap prints it: `cap_net_raw=ep`. Undefined when it
 * is not a value the kernel would accept.
 */
export function describeCapabilities(value: Buffer): { text: string; names: string[] } | undefined {
  if (value.length < 4) return undefined;
  const magic = value.readUInt32LE(0);
  const revision = magic >>> 24;
  const lengths: Record<number, number> = { 1: 12, 2: 20, 3: 24 };
  if (lengths[revision] !== value.length || (magic & 0x00fffffe) !== 0) return undefined;
  const effective = (magic & 1) === 1;
  const words = revision === 1 ? 1 : 2;
  const groups = new Map<string, string[]>();
  const names: string[] = [];
  for (let bit = 0; bit < 32 * words; bit++) {
    const word = bit >> 5;
    const permitted = (value.readUInt32LE(4 + word * 8) >>> (bit & 31)) & 1;
    const inheritable = (value.readUInt32LE(8 + word * 8) >>> (bit & 31)) & 1;
    if (!permitted && !inheritable) continue;
    const name = CAPABILITY_NAMES[bit] ?? `cap_${bit}`;
    names.push(name);
    const flags = `${effective ? 'e' : ''}${inheritable ? 'i' : ''}${permitted ? 'p' : ''}`;
    const group = groups.get(flags);
    if (group) group.push(name);
    else groups.set(flags, [name]);
  }
  return { text: [...groups].map(([flags, list]) => `${list.join(',')}=${flags}`).join(' '), names };
}

/** Configs that hold a password when Jitsi's scripts generate them (older bridges kept theirs in sip-communicator.properties); never in a built image. */
const GENERATED_JITSI_CONFIGS = [
  'etc/jitsi/jicofo/jicofo.conf',
  'etc/jitsi/jicofo/config',
  'etc/jitsi/videobridge/jvb.conf',
  'etc/jitsi/videobridge/config',
  'etc/jitsi/videobridge/sip-communicator.properties',
];

/** Files whose contents inspect reads (small ones only). */
const CONTENT_FILES = new Set([
  'var/cache/debconf/passwords.dat',
  'etc/os-release',
  'usr/lib/os-release',
  'var/lib/dpkg/status',
  'etc/machine-id',
  'var/lib/dbus/machine-id',
  'etc/shadow',
]);
/** Directories whose small files are searched for PEM private keys. */
const KEY_SEARCH_ROOTS = ['etc/', 'var/lib/', 'root/', 'usr/local/etc/'];
/** Directories where any `*.key` / `*.pem` file is treated as a private key. */
const KEY_DIRECTORIES = ['etc/ssl/private/', 'etc/jitsi/', 'etc/prosody/certs/', 'var/lib/prosody/', 'etc/letsencrypt/'];
const PEM_PRIVATE_KEY = /^-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?$/m;
const MAX_SCANNED = 1024 * 1024;

function isRegular(entry: ArchiveEntry): boolean {
  return entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
}

/** What a later hard link to a regular file becomes. */
interface RegularFile {
  size: number;
  mode: number;
  /** When it was read (small files where secrets live). */
  content?: Buffer;
}

export interface ImageFacts {
  sizesByTopLevel: Map<string, number>;
  /** Contents of the files in CONTENT_FILES that were regular files. */
  contents: Map<string, Buffer>;
  /** Symbolic links, by normalized path: target as stored. */
  symlinks: Map<string, string>;
  /** Which of the init programs that tell an image's init system it holds. */
  initPrograms: Set<string>;
  findings: Finding[];
  totalBytes: number;
}

/** Collects facts and entry-level findings while the archive streams by. */
export class ImageScanner {
  readonly facts: ImageFacts = { sizesByTopLevel: new Map(), contents: new Map(), symlinks: new Map(), initPrograms: new Set(), findings: [], totalBytes: 0 };
  /** Regular files by path, for the hard links that follow them. */
  private files = new Map<string, RegularFile>();
  private aptLists = 0;
  private aptCache = 0;

  private add(severity: Severity, kind: string, path: string, message: string): void {
    this.facts.findings.push({ severity, kind, path: path.startsWith('(') ? path : `/${path}`, message });
  }

  wantContent(entry: ArchiveEntry): number | false {
    if (CONTENT_FILES.has(entry.path)) return 64 * 1024 * 1024;
    if (entry.size <= MAX_SCANNED && KEY_SEARCH_ROOTS.some((root) => entry.path.startsWith(root))) return MAX_SCANNED;
    return false;
  }

  onEntry(stored: ArchiveEntry, storedContent?: Buffer): void {
    this.checkPath(stored);
    const landed = this.followLinks(stored);
    if (landed === undefined) return;
    let entry = landed === stored.path ? stored : { ...stored, path: landed };
    let content = storedContent;
    const { path } = entry;
    // A later entry replaces an earlier one at the same path, a symbolic link included.
    if (entry.type === 'SymbolicLink' && entry.linkpath !== undefined) this.facts.symlinks.set(path, entry.linkpath);
    else this.facts.symlinks.delete(path);
    if (path in INIT_PROGRAMS) this.facts.initPrograms.add(path);
    this.checkCapabilities(entry);
    let linked: RegularFile | undefined;
    if (entry.type === 'Link' && entry.linkpath !== undefined) {
      // A hard link is the file it links to under one more name: the checks for this name
      // apply to it (an ssh host key or a machine id can be stored under any name first).
      linked = this.files.get(this.resolveParents(normalizeEntryPath(entry.linkpath)).landed);
      if (linked) {
        entry = { ...entry, type: 'File', size: linked.size, mode: linked.mode };
        content = linked.content;
      }
    }
    if (isRegular(entry)) {
      if (!linked) {
        // A hard link adds no data: only the file itself counts.
        const top = path.includes('/') ? path.slice(0, path.indexOf('/')) : '(top level files)';
        this.facts.sizesByTopLevel.set(top, (this.facts.sizesByTopLevel.get(top) ?? 0) + entry.size);
        this.facts.totalBytes += entry.size;
      }
      this.files.set(path, linked ?? { size: entry.size, mode: entry.mode, content });
      if (content && CONTENT_FILES.has(path)) this.facts.contents.set(path, content);
      const before = this.facts.findings.length;
      this.checkFile(entry, content);
      // Unless its name alone was enough to report it, a file whose content the checks never saw is not vouched for.
      if (this.facts.findings.length === before && content === undefined && entry.size > 0 && this.wantContent(entry) !== false) {
        const storedAs = linked ? `a hard link to ${stored.linkpath}` : `stored as /${stored.path}`;
        this.add('error', 'unread-content', path, `${storedAs}, whose content inspect did not read (it reads small files under /etc, /var/lib... as they stream by), so the checks for this path could not look at it; store the file itself here`);
      }
    }
    // A hard link shares its file's mode, reported under the file's first name.
    if ((isRegular(entry) && !linked) || entry.type === 'Directory') this.checkMode(entry);
  }

  private checkPath(entry: ArchiveEntry): void {
    const segments = entry.rawPath.split('/');
    if (entry.rawPath.startsWith('/')) this.add('error', 'absolute-path', entry.path, `stored with an absolute path (${entry.rawPath}); tar would write outside the target directory`);
    if (segments.includes('..')) this.add('error', 'dotdot-path', entry.path, `path contains '..' (${entry.rawPath}); tar would write outside the target directory`);
    if (entry.type === 'Link' && entry.linkpath !== undefined && (entry.linkpath.startsWith('/') || entry.linkpath.split('/').includes('..'))) {
      this.add('error', 'unsafe-hardlink', entry.path, `hard link to ${entry.linkpath}, outside the archive root`);
    }
  }

  /**
   * Where an entry lands when the symbolic links stored before it in the archive are followed
   * along its path (tar never stores files under a link, so in an image we build nothing
   * does). GNU tar refuses to write through a link whose target is absolute or has `..` (it
   * creates such links last, after a placeholder), other extractors would follow it: out of
   * the image root, onto the host. Those are errors and the entry is not checked further
   * (undefined); through plain relative links the entry is checked where it lands.
   */
  private followLinks(entry: ArchiveEntry): string | undefined {
    const resolution = this.resolveParents(entry.path);
    if (entry.type === 'Link' && entry.linkpath !== undefined) {
      // A hard link made through such a link would link to a file out of the root (the host's).
      const target = this.resolveParents(normalizeEntryPath(entry.linkpath));
      if (target.refused) {
        this.add('error', 'through-symlink', entry.path, `hard link to ${entry.linkpath}, reached through ${target.through}: GNU tar refuses it, other extractors link ${target.where}`);
        return undefined;
      }
    }
    if (!resolution.through) return entry.path;
    if (resolution.refused) {
      this.add('error', 'through-symlink', entry.path, `written through ${resolution.through}: GNU tar refuses it, other extractors write it ${resolution.where}`);
      return undefined;
    }
    this.add('warning', 'through-symlink', entry.path, `written through ${resolution.through}, so it lands at /${resolution.landed} (checked there); tar archives of a real tree never do this`);
    return resolution.landed;
  }

  /** Follows the links stored so far along the directories of `path` (not its last part). */
  private resolveParents(path: string): { landed: string; through?: string; refused: boolean; where: string } {
    const queue = path.split('/');
    const name = queue.pop()!;
    const resolved: string[] = [];
    let first: { link: string; target: string } | undefined;
    let refused = false;
    let outside = false;
    let loop = false;
    let hops = 0;
    while (queue.length) {
      const segment = queue.shift()!;
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (resolved.length === 0) outside = true;
        resolved.pop();
        continue;
      }
      const candidate = [...resolved, segment].join('/');
      const target = this.facts.symlinks.get(candidate);
      if (target === undefined) {
        resolved.push(segment);
        continue;
      }
      first ??= { link: candidate, target };
      if (++hops > 40) {
        // As the kernel does (ELOOP): no extractor gets through this.
        loop = refused = true;
        break;
      }
      if (target.startsWith('/') || target.split('/').includes('..')) refused = true;
      if (target.startsWith('/')) {
        outside = true;
        resolved.length = 0;
      }
      queue.unshift(...target.split('/'));
    }
    const landed = [...resolved, name].join('/');
    const where = loop ? 'nowhere (the links loop)' : outside ? `out of the image root (to /${landed} on the host)` : `to /${landed}`;
    return { landed, through: first && `the symbolic link /${first.link} -> ${first.target}`, refused: first !== undefined && refused, where };
  }

  private checkCapabilities(entry: ArchiveEntry): void {
    const value = entry.xattrs.get('security.capability');
    if (value === undefined) return;
    const caps = describeCapabilities(value);
    if (!caps) {
      this.add('error', 'capability', entry.path, `file capabilities (security.capability) that inspect cannot decode (${value.length} bytes): check them with getcap after unpacking`);
      return;
    }
    if (caps.names.length === 0) return;
    const dangerous = caps.names.filter((name) => !USUAL_CAPABILITIES.has(name));
    if (dangerous.length) {
      this.add('error', 'capability', entry.path, `file capabilities ${caps.text}: ${dangerous.join(', ')} can give the program root, let it past file permissions or control the system (capabilities(7)); remove them (setcap -r) or find out why they are there`);
    } else {
      this.add('warning', 'capability', entry.path, `file capabilities ${caps.text} (usual for programs like ping): check the program needs them`);
    }
  }

  private checkMode(entry: ArchiveEntry): void {
    const { mode, path } = entry;
    if (isRegular(entry) && mode & 0o6000) {
      const bits = [mode & 0o4000 ? 'setuid' : '', mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
      const name = posix.basename(path);
      if (EXPECTED_SETID.has(name)) this.add('info', 'setid', path, `${bits} (${(mode & 0o7777).toString(8)}), expected for ${name}`);
      else this.add('warning', 'setid', path, `${bits} (${(mode & 0o7777).toString(8)}), not a program Debian servers usually carry setuid/setgid: check why`);
    }
    if (mode & 0o002 && !(mode & 0o1000)) {
      const what = entry.type === 'Directory' ? 'directory' : 'file';
      this.add('error', 'world-writable', path, `world-writable ${what} without the sticky bit (${(mode & 0o7777).toString(8)}): any local user can change or replace it`);
    }
  }

  private checkFile(entry: ArchiveEntry, content: Buffer | undefined): void {
    const { path } = entry;
    const text = () => content?.toString('utf8') ?? '';
    if (path === 'etc/machine-id') {
      const id = text().trim();
      if (id !== '' && id !== 'uninitialized') this.add('error', 'machine-id', path, `holds the machine id ${id}: every container would share it; write 'uninitialized' or leave it empty`);
      return;
    }
    if (path === 'var/lib/dbus/machine-id' && text().trim() !== '') {
      this.add('error', 'machine-id', path, 'holds a D-Bus machine id: every container would share it; remove it (or make it a link to /etc/machine-id)');
      return;
    }
    if (path === 'var/lib/systemd/random-seed' && entry.size > 0) {
      this.add('error', 'random-seed', path, 'systemd random seed: every container would start with the same entropy; remove it');
      return;
    }
    if (path === 'var/lib/systemd/credential.secret') {
      this.add('error', 'credential-secret', path, 'systemd credential secret: it encrypts per-host credentials and must be made on each host; remove it');
      return;
    }
    if (/^etc\/ssh\/ssh_host_[a-z0-9]+_key$/.test(path)) {
      this.add('error', 'ssh-host-key', path, 'SSH host private key: every container would share it; remove it (sshd-keygen makes keys at first boot)');
      return;
    }
    if (/(^|\/)private-keys-v1\.d\/[^/]+\.key$/.test(path)) {
      // GnuPG's own key format, not PEM: the directory says what it is (portage's getuto
      // keeps one in /etc/portage/gnupg to verify binary packages).
      this.add('error', 'gnupg-private-key', path, 'a GnuPG private key: every container would share it, and whoever has the image can sign with it; remove its keyring (getuto makes /etc/portage/gnupg anew)');
      return;
    }
    if (path === 'etc/shadow') {
      this.checkShadow(text());
      return;
    }
    if (path.startsWith('var/lib/apt/lists/') && !path.endsWith('/lock') && !path.startsWith('var/lib/apt/lists/partial/')) {
      this.aptLists++;
      if (this.aptLists === 1) this.add('warning', 'apt-lists', 'var/lib/apt/lists', 'apt package lists are included: stale on arrival and they grow the image; run apt-get update on the host instead');
      return;
    }
    if (path.startsWith('var/cache/apt/') && (path.endsWith('.bin') || path.endsWith('.deb'))) {
      this.aptCache++;
      if (this.aptCache === 1) this.add('warning', 'apt-cache', 'var/cache/apt', 'apt caches or downloaded .deb files are included; clean them in the build');
      return;
    }
    if (path === 'var/cache/debconf/passwords.dat') {
      // Stanzas of `Name:`/`Value:` lines; a password question with a value holds a secret.
      const answered = text()
        .split(/\n\n/)
        .filter((stanza) => /^Value: ./m.test(stanza))
        .map((stanza) => /^Name: (.*)$/m.exec(stanza)?.[1] ?? '?');
      if (answered.length) this.add('error', 'debconf-secret', path, `debconf holds answers to password questions (${answered.join(', ')}): every container would share them; remove them at build time`);
      return;
    }
    if (GENERATED_JITSI_CONFIGS.includes(path) && entry.size > 0) {
      this.add('error', 'jitsi-generated-config', path, "a config Jitsi's package scripts generated at build time (placeholder names, a password every container would share); the configurator writes it");
      return;
    }
    if (/\/accounts\/[^/]+\.dat$/.test(path) && path.startsWith('var/lib/prosody/')) {
      this.add('error', 'prosody-account', path, 'a prosody account (with its password hash) is in the image; accounts are made at configure time');
      return;
    }
    const pem = content !== undefined && PEM_PRIVATE_KEY.test(content.toString('latin1'));
    const keyFile = path.endsWith('.key') && entry.size > 0 && KEY_DIRECTORIES.some((dir) => path.startsWith(dir));
    if (pem || keyFile) {
      this.add('error', 'private-key', path, 'a private key is in the image: every container would share it; keys are made or installed at configure time');
    }
  }

  private checkShadow(shadow: string): void {
    for (const line of shadow.split('\n')) {
      const [user, hash] = line.split(':');
      if (!user || hash === undefined) continue;
      const usable = hash === '' || !(hash.startsWith('!') || hash.startsWith('*'));
      if (!usable) continue;
      const how = hash === '' ? 'has an empty password (login without one)' : 'has a usable password hash';
      if (user === 'root') this.add('error', 'root-password', 'etc/shadow', `root ${how}: anyone who knows or cracks it owns every container; lock it ('*')`);
      else this.add('warning', 'user-password', 'etc/shadow', `user ${user} ${how}; images ship no passwords`);
    }
  }
}
