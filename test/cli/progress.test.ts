import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatProgress, startProgress, type CliIo } from '../../src/cli/command.js';

function capture(progressEveryMs: number): { io: CliIo; err: () => string } {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout: new PassThrough(), stderr, env: {}, stopSignal: new Promise(() => {}), progressEveryMs }, err: () => err };
}

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('progress lines of long commands', () => {
  it('formats counts, the share of a known total and the rate', () => {
    expect(formatProgress({ done: 12_000, total: 100_000, detail: '11,990 pushed, 10 failed' }, 'items', 4_000)).toBe('  … 12,000 of 100,000 items (12%), 3,000/s; 11,990 pushed, 10 failed\n');
    expect(formatProgress({ done: 3 }, 'orders', 2_000)).toBe('  … 3 orders, 1.5/s\n');
    expect(formatProgress({ done: 0, total: 0 }, 'orders', 0)).toBe('  … 0 orders, 0.0/s\n');
  });

  it('prints a line per period on stderr until stopped, skipping periods with nothing to say', async () => {
    const { io, err } = capture(10);
    let done = 0;
    const progress = startProgress(io, { unit: 'things', read: () => (++done % 2 === 0 ? null : { done, total: 100 }) });
    await until(() => err().split('\n').length > 3);
    progress.stop();
    const lines = err().split('\n').filter(Boolean);
    for (const line of lines) expect(line).toMatch(/^ {2}… \d+ of 100 things \(\d+%\), [\d.,]+\/s$/);
    const counts = lines.map((line) => Number(/… (\d+)/.exec(line)![1]));
    expect(counts.every((count) => count % 2 === 1)).toBe(true);
    const printed = err();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(err()).toBe(printed);
  });

  it('prints nothing when silent (--json)', async () => {
    const { io, err } = capture(5);
    let reads = 0;
    const progress = startProgress(io, { unit: 'things', silent: true, read: () => ({ done: ++reads }) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    progress.stop();
    expect(reads).toBe(0);
    expect(err()).toBe('');
  });
});
