import { errorCodeOfReply, type Command } from '@sluice/protocol';

/**
 * What the request path counts, as plain numbers: one increment per event, no label hashing and no
 * prom-client call on the hot path. The registry (node-metrics.ts) reads them when it is scraped.
 */
export class RequestCounts {
  /** Requests received, by command type. */
  readonly requests = new Map<string, number>();
  /** Error replies sent, by code (WRONG_HOST, NO_SUCH_SEGMENT, …, or an ErrorMessage's own code). */
  readonly errors = new Map<string, number>();
  /** Reads that found nothing at the tail and waited for data. */
  readWaits = 0;
  /** Segment bytes returned by reads. */
  readBytes = 0;
  /** Writer setups dropped from a connection at its limit (their writers set up again if they append). */
  appendSetupsEvicted = 0;
  /** Append blocks accepted per container (duplicates that stored nothing not counted), and their bytes. */
  readonly containerAppends = new Map<number, { appends: number; bytes: number }>();

  request(command: string): void {
    this.requests.set(command, (this.requests.get(command) ?? 0) + 1);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Counts reply when it is an error reply. */
  reply(reply: Command): void {
    const code = errorCodeOfReply(reply);
    if (code !== null) this.error(code);
  }

  readWaited(): void {
    this.readWaits += 1;
  }

  appendSetupEvicted(): void {
    this.appendSetupsEvicted += 1;
  }

  read(bytes: number): void {
    this.readBytes += bytes;
  }

  appended(container: number, bytes: number): void {
    const counts = this.containerAppends.get(container);
    if (counts === undefined) {
      this.containerAppends.set(container, { appends: 1, bytes });
    } else {
      counts.appends += 1;
      counts.bytes += bytes;
    }
  }
}
