import { EventBlockBuilder } from '@sluice/protocol';

/**
 * One append block: events copied once into a builder while it is open, then sealed into a view that
 * is sent (and resent after a reconnect) as it is. Every write that joined the block gets the block's
 * promise, settled when the server acknowledges the block or the writer gives up on it. Once the
 * writer hands its buffer back for reuse (takeBuffer), the block has no bytes any more.
 */
export class PendingBlock {
  private builder: EventBlockBuilder | null;
  private buffer: Buffer | null;
  private sealedData: Buffer | null = null;
  private sealedCount = 0;
  private sealedLength = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;
  /** Event number of the block's last event, assigned when the block is first sent; -1 before. */
  lastEventNumber = -1;
  /** The writer's connection epoch the block was last sent in; a failure from an older one is stale. */
  epoch = -1;
  /** AppendBlock requests made with this block: 1 after its first send, more after resends. */
  sends = 0;
  settled = false;

  /** The block fills buffer (its whole length is the block's capacity). */
  constructor(buffer: Buffer) {
    this.buffer = buffer;
    this.builder = new EventBlockBuilder(buffer.byteLength, buffer);
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  get capacity(): number {
    return this.builder?.capacity ?? this.sealedLength;
  }

  get eventCount(): number {
    return this.builder?.eventCount ?? this.sealedCount;
  }

  /** Bytes of framed events in the block (what it counts against the writer's in-flight budget). */
  get byteLength(): number {
    return this.builder?.byteLength ?? this.sealedLength;
  }

  get isOpen(): boolean {
    return this.builder !== null;
  }

  get data(): Buffer {
    if (!this.sealedData) throw new Error(this.builder ? 'block is still open' : "block's buffer was handed back for reuse");
    return this.sealedData;
  }

  /** Frames the event into the block; false when it does not fit (keyBytes: routingKey's UTF-8 length). */
  tryAdd(routingKey: string, keyBytes: number, timestamp: number, headers: Uint8Array | null, data: Uint8Array): boolean {
    if (!this.builder) throw new Error('block is sealed');
    return this.builder.tryAddEnvelope(routingKey, keyBytes, timestamp, headers, data);
  }

  seal(): void {
    if (!this.builder) return;
    this.sealedCount = this.builder.eventCount;
    this.sealedData = this.builder.finish();
    this.sealedLength = this.sealedData.byteLength;
    this.builder = null;
  }

  /**
   * The whole buffer the sealed block was built in, for reuse; the block keeps no bytes. Only for a
   * block nothing will send or read again (acknowledged after its single send).
   */
  takeBuffer(): Buffer {
    const buffer = this.buffer;
    if (buffer === null || this.builder !== null) throw new Error('only a sealed block with its buffer can give it up');
    this.buffer = null;
    this.sealedData = null;
    return buffer;
  }

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveDone();
  }

  reject(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectDone(error);
  }
}
