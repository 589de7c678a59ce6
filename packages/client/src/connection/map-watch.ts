/** How long one WatchClusterMap waits at the node for a newer map before answering with the same one. */
export const WATCH_WAIT_MS = 5_000;

/** One watch round's outcome: true when a newer map was learned, false when the round saw none. */
interface Round {
  readonly news: Promise<boolean>;
  end(changed: boolean): void;
}

/**
 * Wakes routes that wait out a backoff pause in a coordinated cluster as soon as a newer cluster
 * map is known, rather than at the end of their pause: while any route waits, it keeps one
 * WatchClusterMap at a node, which answers once a primary changed (a failover's new primary was
 * chosen). Rounds end at least every WATCH_WAIT_MS, so a waiting route never piles listeners on one
 * promise. In a static cluster (map epoch 0: primaries never move) routes just pause.
 */
export class MapWatch {
  private waiting = 0;
  private round: Round | null = null;

  constructor(
    /** The newest map epoch known; 0 for a static cluster. */
    private readonly knownEpoch: () => number,
    /**
     * Asks some node for a map newer than afterEpoch, waiting up to waitMs there, and learns what it
     * answers; resolves with the epoch learned, or null when no node answered.
     */
    private readonly askForNews: (afterEpoch: number, waitMs: number) => Promise<number | null>,
  ) {}

  /** Resolves when pause does (false), or earlier (true) once a newer map was learned. */
  async until(pause: Promise<void>): Promise<boolean> {
    if (this.knownEpoch() === 0) {
      await pause;
      return false;
    }
    this.waiting += 1;
    this.start();
    try {
      let elapsed = false;
      const paused = pause.then(() => {
        elapsed = true;
        return false;
      });
      for (;;) {
        const round = this.round;
        const changed = await (round === null ? paused : Promise.race([paused, round.news]));
        if (changed) return true;
        if (elapsed || round === null) return false;
      }
    } finally {
      this.waiting -= 1;
    }
  }

  private start(): void {
    if (this.round !== null) return;
    void this.watch();
  }

  private async watch(): Promise<void> {
    while (this.waiting > 0) {
      const round = newRound();
      this.round = round;
      const before = this.knownEpoch();
      let learned: number | null = null;
      try {
        learned = await this.askForNews(before, WATCH_WAIT_MS);
      } finally {
        if (learned === null) this.round = null;
        round.end(learned !== null && learned > before);
      }
      if (learned === null) return;
    }
    this.round = null;
  }
}

function newRound(): Round {
  let end!: (changed: boolean) => void;
  const news = new Promise<boolean>((resolve) => {
    end = resolve;
  });
  return { news, end };
}
