/**
 * `from: 'tail'` means "events written after the reader was created": a write awaited right after
 * createReader reaches that reader, every time (the tail lookup used to race the write).
 */
import { describe, expect, it } from 'vitest';

import { useServerWithClient } from './helpers/server-with-client.js';

describe("createReader(stream, { from: 'tail' }) then an awaited write", () => {
  const running = useServerWithClient();

  it('delivers that event, 20 times in a row', async () => {
    const stream = 'e2e/from-tail';
    await running.client.createStream(stream, { segments: 4 });
    const writer = running.client.createWriter(stream);
    await writer.write('warm-up', 'before any reader'); // the writer is set up: its next write is one round trip
    for (let round = 0; round < 20; round++) {
      const reader = running.client.createReader(stream, { from: 'tail' });
      await writer.write(`key-${round}`, `after-${round}`);
      const timer = setTimeout(() => reader.close(), 10_000);
      const next = await reader.next();
      clearTimeout(timer);
      expect(next.done, `round ${round}: the event written after createReader never came`).toBe(false);
      expect(next.value!.data.toString()).toBe(`after-${round}`);
      reader.close();
    }
    await writer.close();
  });
});
