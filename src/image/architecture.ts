/**
 * The Debian architecture of an image, from its dpkg database: the architecture of the `dpkg`
 * package is the image's native one (dpkg --print-architecture inside says the same). Shared by
 * `inspect` (which reports it) and the boot helper (which boots a foreign one under emulation).
 */

/** Architecture of the installed `dpkg` package, else the most common one of installed packages other than `all`. */
export function architectureFromDpkgStatus(text: string): string | undefined {
  const counts = new Map<string, number>();
  for (const paragraph of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: *(.*)$`, 'm').exec(paragraph)?.[1]?.trim();
    const architecture = field('Architecture');
    if (!architecture || !field('Status')?.endsWith(' installed')) continue;
    if (field('Package') === 'dpkg') return architecture;
    if (architecture !== 'all') counts.set(architecture, (counts.get(architecture) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}
