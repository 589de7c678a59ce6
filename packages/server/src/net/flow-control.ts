/**
 * Per-connection back-pressure: while the request bytes waiting for replies, or the reply bytes
 * waiting for the socket, pass the bound, the connection is not read from; reading resumes when
 * both drain below half of it. One heavy (or non-reading) client therefore holds at most about
 * twice the bound of the node's memory.
 */
export class FlowControl {
  private paused = false;

  constructor(
    private readonly maxBytes: number,
    private readonly hooks: { pause(): void; resume(): void },
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  update(unackedBytes: number, outgoingBytes: number): void {
    if (!this.paused) {
      if (unackedBytes > this.maxBytes || outgoingBytes > this.maxBytes) {
        this.paused = true;
        this.hooks.pause();
      }
    } else if (unackedBytes <= this.maxBytes / 2 && outgoingBytes <= this.maxBytes / 2) {
      this.paused = false;
      this.hooks.resume();
    }
  }
}
