/**
 * What `--check` reads from the running system: listening sockets (`ss`), processes
 * (`/proc`), the init system's view of services, and values of the generated files. Reading
 * only: nothing here writes a file or changes a service. Parsers are exported for the tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { InitSystem } from '../../lib/init-systems.js';

export async function readText(root: string, path: string): Promise<string | undefined> {
  return readFile(join(root, path), 'utf8').catch(() => undefined);
}

/** Runs a read-only program with a short time limit; never throws. */
export async function run(program: string, args: string[], timeoutMs = 3000): Promise<{ exitCode: number; stdout: string }> {
  const result = await execa(program, args, { reject: false, stdin: 'ignore', timeout: timeoutMs });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? '') };
}

export interface Listener {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  /** Programs holding the socket, as `ss -p` names them, with their PIDs. */
  processes: Array<{ name: string; pid: number }>;
}

/** Parses `ss -H -l -n -t -u -p` output. */
export function parseSs(text: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || (fields[0] !== 'tcp' && fields[0] !== 'udp')) continue;
    const local = fields[4];
    const colon = local.lastIndexOf(':');
    if (colon === -1) continue;
    let address = local.slice(0, colon).replace(/^\[|\]$/g, '');
    address = address.replace(/%.*$/, '');
    const port = Number(local.slice(colon + 1));
    if (!Number.isInteger(port)) continue;
    const processes = [...line.matchAll(/\("([^"]+)",pid=(\d+)/g)].map((m) => ({ name: m[1], pid: Number(m[2]) }));
    listeners.push({ protocol: fields[0], address: address === '*' ? '0.0.0.0' : address, port, processes });
  }
  return listeners;
}

export async function listeners(): Promise<Listener[]> {
  const result = await run('ss', ['-H', '-l', '-n', '-t', '-u', '-p']);
  if (result.exitCode !== 0) throw new Error('`ss -lntup` failed (is iproute2 installed?)');
  return parseSs(result.stdout);
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  /** argv joined with spaces. */
  cmdline: string;
}

export async function processes(root = '/'): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir(join(root, 'proc')).catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readText(root, `/proc/${entry}/status`);
    if (!status) continue;
    const cmdline = ((await readText(root, `/proc/${entry}/cmdline`)) ?? '').split('\0').filter(Boolean).join(' ');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    if (state === 'Z') continue;
    found.push({ pid: Number(entry), ppid, uid, comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '', cmdline });
  }
  return found;
}

/** uid to name from /etc/passwd. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid)) users.set(Number(uid), name);
  }
  return users;
}

/** Whether the init system counts the service as running. */
export async function initSaysRunning(init: InitSystem, service: string): Promise<boolean> {
  const result = init === 'systemd' ? await run('systemctl', ['is-active', '--quiet', `${service}.service`]) : await run('rc-service', [service, 'status']);
  return result.exitCode === 0;
}

/**
 * A HOCON string value from a file jitsi-meet-config wrote (`key = "json string"`), the first
 * of that key. Not a HOCON parser: it reads our generators' output, where every string is quoted.
 */
export function hoconString(text: string, key: string): string | undefined {
  const match = new RegExp(`^\\s*"?${key.replace(/[-.]/g, '\\$&')}"?\\s*[=:]\\s*("(?:[^"\\\\]|\\\\.)*")`, 'm').exec(text);
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]) as string;
  } catch {
    return undefined;
  }
}

/** The static NAT mappings of jvb.conf: local and public address of each. */
export function jvbMappings(text: string): Array<{ local: string; public: string }> {
  const block = /static-mappings\s*=\s*\[([\s\S]*?)\n\s*\]/.exec(text)?.[1] ?? '';
  const mappings: Array<{ local: string; public: string }> = [];
  for (const entry of block.split(/\}\s*,?/)) {
    const local = hoconString(entry, 'local-address');
    const publicAddress = hoconString(entry, 'public-address');
    if (local && publicAddress) mappings.push({ local, public: publicAddress });
  }
  return mappings;
}

/** `key=value` lines of coturn's config (last one wins), and bare flags as ''. */
export function turnserverValue(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z0-9-]+)\s*(?:=\s*(.*?))?\s*$/.exec(line);
    if (match && match[1] === key) value = match[2] ?? '';
  }
  return value;
}

/** A Lua string assignment in prosody's config (`key = "value"`). */
export function luaString(text: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'm').exec(text)?.[1];
}
