/**
 * The secrets of a server: focus and jvb account passwords and the TURN shared secret. They
 * come from the operating system's CSPRNG on the first configure, live only in the master
 * config (never in an image, never asked for), are kept on every later run, and are replaced
 * all at once by `--rotate-secrets`. Keeping them is the point: the seed rotated them on
 * every interactive run, leaving prosody accounts and component files out of step.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { MasterConfig } from './master-config.js';
import { PASSPHRASE_WORDS } from './wordlist.js';

export type Secrets = MasterConfig['secrets'];

/** 32 random bytes each (256 bits), URL-safe base64 so they need no quoting in any config format. */
const SECRET_BYTES = 32;

/** Valid-looking secrets for checking answers before the real ones exist; never written. */
export const PLACEHOLDER_SECRETS: Secrets = Object.freeze({
  focus_password: 'placeholder-not-a-secret',
  jvb_password: 'placeholder-not-a-secret',
  turn_secret: 'placeholder-not-a-secret',
});

export function generateSecrets(): Secrets {
  return {
    focus_password: randomBytes(SECRET_BYTES).toString('base64url'),
    jvb_password: randomBytes(SECRET_BYTES).toString('base64url'),
    turn_secret: randomBytes(SECRET_BYTES).toString('hex'),
  };
}

/** The password of a bridge's account (`--add-bridge`): as strong as the other secrets, and never rotated with them. */
export function generateBridgePassword(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/**
 * The secrets for this run: the previous ones unless there are none yet or the admin asked
 * for new ones. The only place that decides, so no code path can rotate by accident.
 */
export function secretsForRun(previous: Secrets | undefined, rotate: boolean): { secrets: Secrets; rotated: boolean } {
  if (previous && !rotate) return { secrets: { ...previous }, rotated: false };
  return { secrets: generateSecrets(), rotated: previous !== undefined };
}

/**
 * Five words from the list, each drawn uniformly with the CSPRNG, joined by dashes: about 54
 * bits with 1,705 words, against 32 for three (the convener logs in over the Internet).
 */
export function generatePassphrase(words: readonly string[] = PASSPHRASE_WORDS, count = 5): string {
  const chosen: string[] = [];
  for (let i = 0; i < count; i++) chosen.push(words[randomInt(words.length)]);
  return chosen.join('-');
}

export const MASK = '********';

/** A copy of the config safe to print: secrets and the convener password replaced by a mask. */
export function maskedConfig(config: MasterConfig): MasterConfig {
  const secrets = Object.fromEntries(Object.keys(config.secrets).map((key) => [key, MASK])) as Secrets;
  const bridges = config.bridges?.map((bridge) => ({ ...bridge, password: MASK }));
  return { ...config, convener: { ...config.convener, password: MASK }, ...(bridges ? { bridges } : {}), secrets };
}
