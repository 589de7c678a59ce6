import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createProgress } from './progress.js';

function stderrLike(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; written: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, written: () => Buffer.concat(chunks).toString() };
}

describe('progress on stderr', () => {
  afterEach(() => vi.useRealTimers());

  it('rewrites one line on a terminal, at most every 200 ms, and clears it with an empty text', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const { stream, written } = stderrLike(true);
    const progress = createProgress(stream);
    progress('written 1 events');
    progress('written 2 events'); // within 200 ms: skipped
    vi.setSystemTime(1_000_250);
    progress('written 3 events');
    progress(''); // always shown: the line is cleared before the command's result
    await new Promise((resolve) => setImmediate(resolve));
    expect(written()).toBe('\r\u001b[2Kwritten 1 events\r\u001b[2Kwritten 3 events\r\u001b[2K');
  });

  it('writes nothing when stderr is a pipe or a file', async () => {
    const { stream, written } = stderrLike(false);
    const progress = createProgress(stream);
    progress('written 1 events');
    progress('');
    await new Promise((resolve) => setImmediate(resolve));
    expect(written()).toBe('');
  });
});
