/**
 * Which distribution an image is: its os-release (`ID`, then `ID_LIKE`), read under the root
 * prefix, so a test picks Gentoo by writing `<root>/etc/os-release`. Read once per run by the
 * apply step (gatherFacts) and by the checks (checkContext).
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { DISTRIBUTION_IDS, DISTRIBUTIONS, type DistributionId, type DistributionLayout } from './distribution.js';
import { pathInRoot } from './validators.js';

/** os-release's two places (os-release(5)): /etc first, the vendor's copy second. */
export const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'] as const;

/** A key's value in os-release text, unquoted; undefined when absent. */
export function osReleaseValue(text: string, key: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match || match[1] !== key) continue;
    const raw = match[2]!.trim();
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    return (quoted ? quoted[2]! : raw).replace(/\\(["'$`\\])/g, '$1');
  }
  return undefined;
}

/** The layout os-release text names: its ID, else the first of ID_LIKE we know; undefined when none. */
export function distributionFromOsRelease(text: string): DistributionId | undefined {
  const ids = [osReleaseValue(text, 'ID') ?? '', ...(osReleaseValue(text, 'ID_LIKE') ?? '').split(/\s+/)];
  return ids.find((id): id is DistributionId => (DISTRIBUTION_IDS as readonly string[]).includes(id));
}

/**
 * The layout of the system under `root`. Without an os-release (a bare root prefix in host
 * tests) it is Debian's, the layout of every image before Gentoo's; an os-release naming
 * another distribution is refused, naming the file.
 */
export function readDistribution(root: string): DistributionLayout {
  for (const file of OS_RELEASE_FILES) {
    let text: string;
    try {
      text = readFileSync(pathInRoot(root, file), 'utf8');
    } catch {
      continue;
    }
    const id = distributionFromOsRelease(text);
    if (!id) {
      throw new UserError(
        `${file}: ID=${osReleaseValue(text, 'ID') ?? '(none)'} is not a distribution jitsi-meet-config knows (${DISTRIBUTION_IDS.join(', ')}); ` +
          'it runs only in the images this project builds',
      );
    }
    return DISTRIBUTIONS[id];
  }
  return DISTRIBUTIONS.debian;
}
