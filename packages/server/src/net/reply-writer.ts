import type { Socket } from 'node:net';

/** Past this many buffered bytes a batch goes out at once instead of at the next microtask checkpoint. */
export const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** Batches up to this size are joined into one buffer; larger ones go out corked (one writev). */
const CONCAT_LIMIT_BYTES = 1024 * 1024;
/** Bulk bytes one connection hands its socket per event-loop turn (at least one frame). */
export const BULK_BYTES_PER_TURN = 4 * 1024 * 1024;

/**
 * Coalesces reply frames into one socket write per microtask checkpoint (or per threshold): the
 * replies to the frames of one received chunk, or to the appends one group commit made durable, go
 * out together. A socket.write costs ~6 µs here, so one write per reply would cap a node near 160k
 * replies/s; waiting for setImmediate instead would add a loop turn to every awaited request.
 *
 * Bulk replies (large reads) take a separate lane, so that flows stay independent: a frame cannot be
 * cut once its first byte is in the socket, so a 1 MiB read reply written ahead of an append ack
 * holds that ack until the peer has taken the whole megabyte. Small replies therefore go out first,
 * and bulk frames are handed to the socket one at a time, the next only once the socket has taken
 * the previous one ('drain'); until then they wait here, where later small replies pass them. An ack
 * waits behind at most the one bulk frame in progress. Bulk frames are written as their parts (the
 * read data is not copied into the frame) and keep their order among themselves.
 *
 * Bulk frames are also work the event loop does for readers, and appends must not wait behind it
 * (issue #18 `hol`): a loopback write of a 1 MiB reply holds the loop for 0.15-0.4 ms. So the lane
 * writes once per loop turn, in the check phase (setImmediate), after the poll phase has taken that
 * turn's incoming requests (other sockets' appends included) and finished disk writes; and at most
 * bytesPerTurn a turn (always at least one frame), so a connection with many readers holds the loop
 * for a bounded time without being held to one frame per turn. Frames are not cut into slices across
 * turns: a reader then assembles a reply over several of its own loop turns, which cost read-100b
 * 30 % when tried (docs/benchmarks.md, "Session 7: hol").
 */
export class ReplyWriter {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private bulk: Array<{ parts: readonly Buffer[]; bytes: number }> = [];
  private bulkBytes = 0;
  private scheduled = false;
  private turn: NodeJS.Immediate | null = null;
  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flushSmall();
  };
  private readonly writeTurn = (): void => {
    this.turn = null;
    let written = 0;
    while (this.bulk.length > 0 && this.socketTakesMore() && written < this.bytesPerTurn) written += this.writeNextBulk();
    this.scheduleTurn();
  };

  constructor(
    private readonly socket: Socket,
    private readonly thresholdBytes = FLUSH_THRESHOLD_BYTES,
    private readonly bytesPerTurn = BULK_BYTES_PER_TURN,
  ) {
    socket.on('drain', () => this.scheduleTurn());
    socket.once('close', () => {
      this.bulk = [];
      this.bulkBytes = 0;
      if (this.turn !== null) clearImmediate(this.turn);
      this.turn = null;
    });
  }

  /** Bytes encoded but not yet handed to the socket. */
  get pendingBytes(): number {
    return this.bytes + this.bulkBytes;
  }

  /** Bulk frames waiting for the socket to take the one before them. */
  get queuedBulkFrames(): number {
    return this.bulk.length;
  }

  /** Queues a small reply: it goes out at the next microtask checkpoint, ahead of any bulk frame still waiting. */
  write(frame: Buffer): void {
    if (this.socket.destroyed) return;
    this.chunks.push(frame);
    this.bytes += frame.byteLength;
    if (this.bytes >= this.thresholdBytes) {
      this.flushSmall();
    } else {
      this.schedule();
    }
  }

  /** Queues a bulk reply, one frame given as its parts in order. */
  writeBulkFrame(parts: readonly Buffer[]): void {
    if (this.socket.destroyed) return;
    let bytes = 0;
    for (const part of parts) bytes += part.byteLength;
    this.bulk.push({ parts, bytes });
    this.bulkBytes += bytes;
    this.scheduleTurn();
  }

  /** Writes everything now, bulk frames included, whatever the socket holds: the connection is closing. */
  flushAll(): void {
    this.flushSmall();
    while (this.bulk.length > 0) this.writeNextBulk();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flushScheduled);
  }

  private scheduleTurn(): void {
    if (this.turn === null && this.bulk.length > 0) this.turn = setImmediate(this.writeTurn);
  }

  private flushSmall(): void {
    if (this.bytes === 0) return;
    const chunks = this.chunks;
    const bytes = this.bytes;
    this.chunks = [];
    this.bytes = 0;
    if (this.socket.destroyed || !this.socket.writable) return;
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
    } else if (bytes <= CONCAT_LIMIT_BYTES) {
      this.socket.write(Buffer.concat(chunks, bytes));
    } else {
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    }
  }

  /**
   * The socket has handed everything to the kernel, or holds less than its high-water mark. After a
   * bulk frame writableNeedDrain stays set until 'drain' (next tick) even when the kernel took it all.
   */
  private socketTakesMore(): boolean {
    return this.socket.writableLength === 0 || !this.socket.writableNeedDrain;
  }

  /** Hands the next bulk frame to the socket; returns its bytes. */
  private writeNextBulk(): number {
    const { parts, bytes } = this.bulk.shift()!;
    this.bulkBytes -= bytes;
    if (this.socket.destroyed || !this.socket.writable) {
      this.bulk = [];
      this.bulkBytes = 0;
      return bytes;
    }
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
      return bytes;
    }
    this.socket.cork();
    for (const part of parts) this.socket.write(part);
    this.socket.uncork();
    return bytes;
  }
}
