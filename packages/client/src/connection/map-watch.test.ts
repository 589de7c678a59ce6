import { describe, expect, it } from 'vitest';

import { MapWatch } from './map-watch.js';

/** A pause that ends when told to. */
function pauseUntilEnded(): { pause: Promise<void>; end: () => void } {
  let end!: () => void;
  const pause = new Promise<void>((resolve) => {
    end = resolve;
  });
  return { pause, end };
}

describe('MapWatch', () => {
  it('ends a waiting pause as soon as a newer map is learned', async () => {
    let epoch = 7;
    const asked: number[] = [];
    let answer!: (learned: number) => void;
    const watch = new MapWatch(
      () => epoch,
      (afterEpoch) => {
        asked.push(afterEpoch);
        return new Promise((resolve) => {
          answer = (learned) => {
            epoch = learned;
            resolve(learned);
          };
        });
      },
    );
    const { pause } = pauseUntilEnded(); // never ends by itself
    const woke = watch.until(pause);
    await Promise.resolve();
    expect(asked).toEqual([7]);
    answer(8);
    expect(await woke).toBe(true);
  });

  it('keeps watching while no newer map comes, and ends with the pause (false)', async () => {
    const asked: number[] = [];
    const watch = new MapWatch(
      () => 3,
      async (afterEpoch) => {
        asked.push(afterEpoch);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return afterEpoch; // the node's wait ended with the same map
      },
    );
    const { pause, end } = pauseUntilEnded();
    const woke = watch.until(pause);
    await new Promise((resolve) => setTimeout(resolve, 40));
    end();
    expect(await woke).toBe(false);
    expect(asked.length).toBeGreaterThan(1);
    // Nobody waits any more: the watch stops after its round.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rounds = asked.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(asked.length).toBe(rounds);
  });

  it('only pauses in a static cluster (epoch 0) or when no node answers', async () => {
    let asks = 0;
    const staticWatch = new MapWatch(
      () => 0,
      async () => {
        asks += 1;
        return 1;
      },
    );
    expect(await staticWatch.until(Promise.resolve())).toBe(false);
    expect(asks).toBe(0);

    const unanswered = new MapWatch(
      () => 5,
      async () => {
        asks += 1;
        return null;
      },
    );
    const { pause, end } = pauseUntilEnded();
    const woke = unanswered.until(pause);
    await new Promise((resolve) => setTimeout(resolve, 10));
    end();
    expect(await woke).toBe(false);
    expect(asks).toBe(1);
  });
});
