/**
 * A bounded keyed write load for fault tests: one writer per routing key, each keeping `window`
 * writes in flight (and pausing `pauseMs` after starting each, when given), event data `<key>:<seq>`
 * with seq counting from 0 per key. Stops when told, or after maxMs at the latest; readBackPerKey()
 * then checks what a reader gets.
 */
import type { SluiceClient } from '@sluice/client';

export interface KeyedLoad {
  /** Acknowledged writes per key. */
  readonly acked: Map<string, number>;
  /** Writes started per key (acknowledged, failed or in flight). */
  readonly written: Map<string, number>;
  /** Writes that failed (the load goes on). */
  readonly failures: unknown[];
  /** Acknowledged writes over all keys. */
  total(): number;
  /** Stops starting writes, waits for those in flight and closes the writers. */
  stop(): Promise<void>;
}

export function startKeyedLoad(
  client: SluiceClient,
  stream: string,
  keys: readonly string[],
  options: { window?: number; maxMs?: number; pauseMs?: number } = {},
): KeyedLoad {
  const { window: size = 16, maxMs = 60_000, pauseMs = 0 } = options;
  let stopped = false;
  const acked = new Map(keys.map((key) => [key, 0]));
  const written = new Map(keys.map((key) => [key, 0]));
  const failures: unknown[] = [];
  const deadline = Date.now() + maxMs;
  const running = keys.map(async (key) => {
    const writer = client.createWriter(stream);
    const window = new Set<Promise<void>>();
    while (!stopped && Date.now() < deadline) {
      const seq = written.get(key)!;
      written.set(key, seq + 1);
      const write = writer.write(key, `${key}:${seq}`).then(
        () => void acked.set(key, acked.get(key)! + 1),
        (error: unknown) => void failures.push(error),
      );
      window.add(write);
      void write.finally(() => window.delete(write));
      if (window.size >= size) await Promise.race(window);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    await Promise.all(window);
    await writer.close();
  });
  return {
    acked,
    written,
    failures,
    total: () => [...acked.values()].reduce((a, b) => a + b, 0),
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/** Reads the stream from the head until `count` events arrived (bounded by timeoutMs): the seqs per key, in the order read. */
export async function readBackPerKey(
  client: SluiceClient,
  stream: string,
  keys: readonly string[],
  count: number,
  timeoutMs = 30_000,
): Promise<Map<string, number[]>> {
  const reader = client.createReader(stream, { from: 'head', tailWaitMs: 500 });
  const seen = new Map(keys.map((key) => [key, [] as number[]]));
  let read = 0;
  const timer = setTimeout(() => void reader.close(), timeoutMs);
  try {
    for await (const event of reader) {
      const [key, seq] = event.data.toString().split(':') as [string, string];
      seen.get(key)?.push(Number(seq));
      if (++read >= count) break;
    }
  } finally {
    clearTimeout(timer);
    await reader.close();
  }
  return seen;
}
