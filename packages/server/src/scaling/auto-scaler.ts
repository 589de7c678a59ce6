import { StreamSealedError, NoSuchStreamError, type SluiceClient } from '@sluice/client';
import { EVENT_COUNT_ATTRIBUTE, streamOfMetadataSegment } from '@sluice/protocol';
import type { Logger } from 'pino';

interface Sample {
  events: number;
  at: number;
}

/**
 * Auto-scaling on the node that owns a stream's metadata segment: every interval, for each such
 * stream with a policy, it samples each active segment's event count (EVENT_COUNT_ATTRIBUTE, asked
 * of the segment's owner), turns two samples into events/s, and lets the client's auto-scale step
 * split or merge (stream/auto-scale.ts). Evaluations run one at a time; a failed one is logged and
 * tried again at the next interval.
 */
export class AutoScaler {
  readonly #samples = new Map<string, Sample>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly client: SluiceClient,
    /** Names of the segments this node owns now (the metadata segments among them are evaluated). */
    private readonly ownedSegments: () => string[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      // A round that throws (the owned segments could not be listed) is logged, never left as an
      // unhandled rejection: that would stop the node.
      this.#running ??= this.#evaluateAll()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'auto-scaling round failed'))
        .finally(() => {
          this.#running = null;
        });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#running;
    await this.client.close();
  }

  async #evaluateAll(): Promise<void> {
    const seen = new Set<string>();
    for (const segment of this.ownedSegments()) {
      const stream = streamOfMetadataSegment(segment);
      if (stream === null) continue;
      try {
        await this.#evaluate(stream, seen);
      } catch (error) {
        if (error instanceof StreamSealedError || error instanceof NoSuchStreamError) continue;
        this.logger.warn({ stream, err: error }, 'auto-scaling evaluation failed');
      }
    }
    for (const segment of this.#samples.keys()) if (!seen.has(segment)) this.#samples.delete(segment);
  }

  async #evaluate(stream: string, seen: Set<string>): Promise<void> {
    const info = await this.client.getStreamInfo(stream);
    if (info.policy === null || info.sealed) return;
    const rates = new Map<number, number>();
    let complete = true;
    for (const { segment } of info.segmentInfos) {
      seen.add(segment);
      const events = await this.client.segments.getAttribute(segment, EVENT_COUNT_ATTRIBUTE);
      const now = Date.now();
      const previous = this.#samples.get(segment);
      this.#samples.set(segment, { events: typeof events === 'number' ? events : 0, at: now });
      // A new segment (or a restarted owner, whose count starts again) needs a second sample.
      if (previous === undefined || typeof events !== 'number' || events < previous.events || now <= previous.at) complete = false;
      else rates.set(segmentNumberOf(segment), ((events - previous.events) * 1_000) / (now - previous.at));
    }
    if (!complete) return;
    if (await this.client.autoScale(stream, rates)) {
      const after = await this.client.getStreamInfo(stream);
      this.logger.info({ stream, segments: after.segments, epoch: after.epoch, rates: Object.fromEntries(rates) }, 'auto-scaled');
    }
  }
}

function segmentNumberOf(segment: string): number {
  return Number(segment.slice(segment.lastIndexOf('/') + 1));
}
