/** Shared by the benchmarks: wall time and peak disk use of a piece of work. */
import { execa } from 'execa';

/** Disk bytes used by the trees below `dirs` (du counts blocks, like the disk does). */
async function diskBytes(dirs: string[]): Promise<number> {
  const { stdout } = await execa('du', ['--summarize', '--block-size=1', '--total', '--one-file-system', ...dirs], { reject: false });
  const total = stdout.split('\n').find((line) => line.endsWith('\ttotal'));
  return total ? Number(total.split('\t')[0]) : 0;
}

/** Runs `work` while sampling the disk use of `dirs`; returns seconds and peak bytes. */
export async function measure(dirs: string[], work: () => Promise<void>): Promise<{ seconds: number; peakBytes: number }> {
  let peakBytes = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peakBytes = Math.max(peakBytes, await diskBytes(dirs));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const started = process.hrtime.bigint();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  peakBytes = Math.max(peakBytes, await diskBytes(dirs));
  return { seconds, peakBytes };
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
