/**
 * The slow-loris guard of one connection: a frame that started arriving must complete within
 * timeoutMs of reading time. Time spent not reading (paused by flow control) does not count.
 */
export class FrameTimeout {
  private timer: NodeJS.Timeout | null = null;
  private partialFrameSince = 0;

  constructor(
    private readonly timeoutMs: number,
    /** Whether a partial frame still waits on a connection that is being read. */
    private readonly stillWaiting: () => boolean,
    /** The partial frame is overdue by this age: the connection closes. */
    private readonly onTimeout: (ageMs: number) => void,
  ) {}

  /** After a chunk was decoded: whether part of a frame remains, and whether frames completed in the chunk. */
  track(partialFrame: boolean, completedFrames: boolean, reading: boolean): void {
    if (!partialFrame) {
      this.clear();
    } else if (reading && (this.timer === null || completedFrames)) {
      // A new partial frame (the previous one completed in this chunk): its clock starts now.
      this.start();
    }
  }

  /** Starts a partial frame's clock (again, after a pause in reading). */
  start(): void {
    this.partialFrameSince = Date.now();
    if (this.timer === null) this.timer = setTimeout(() => this.check(), this.timeoutMs);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private check(): void {
    this.timer = null;
    if (!this.stillWaiting()) return;
    const age = Date.now() - this.partialFrameSince;
    if (age < this.timeoutMs) {
      this.timer = setTimeout(() => this.check(), this.timeoutMs - age);
      return;
    }
    this.onTimeout(age);
  }
}
