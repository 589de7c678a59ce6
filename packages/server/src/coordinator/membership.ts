import { EventEmitter } from 'node:events';

import type { Lease, Namespace } from 'etcd3';
import type { Logger } from 'pino';

import { KEYS } from './records.js';

/** Self-fence this long before the lease could expire in etcd (keep-alive replies are late, clocks drift). */
const FENCE_MARGIN_MS = 500;
const CHECK_INTERVAL_MS = 100;
const REGRANT_DELAY_MS = 500;

/**
 * This node's membership: its key members/<node> under a lease that etcd3 keeps alive. `held` says
 * whether the lease is certainly alive in etcd right now: it turns false (event 'change') once a
 * keep-alive has not succeeded for the TTL minus a margin, before etcd can expire it and another
 * node is made primary in our place, so a node cut off from etcd stops serving as primary on its
 * own (self-fencing). A lost lease is replaced by a new one and the key written again.
 */
export class Membership extends EventEmitter<{ change: [held: boolean] }> {
  private lease: Lease | null = null;
  private renewedAt = 0;
  private firedAt = 0;
  private isHeld = false;
  private checker: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set once per process: a new value tells the controller this node restarted (and may have missed records). */
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly etcd: Namespace,
    private readonly self: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    super();
  }

  get held(): boolean {
    return this.isHeld;
  }

  async start(): Promise<void> {
    await this.register();
    this.checker = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.checker.unref();
  }

  /** Revokes the lease: the key goes at once, and the controller moves this node's containers now. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.checker !== null) clearInterval(this.checker);
    this.setHeld(false);
    await this.lease?.revoke().catch((error: unknown) => this.logger.warn({ err: error }, 'could not revoke the membership lease'));
  }

  private async register(): Promise<void> {
    const lease = this.etcd.lease(this.ttlMs / 1000);
    this.lease = lease;
    lease.on('keepaliveFired', () => (this.firedAt = Date.now()));
    lease.on('keepaliveSucceeded', () => {
      this.renewedAt = this.firedAt;
      this.check();
    });
    lease.on('lost', (error) => {
      if (this.closed || this.lease !== lease) return;
      this.logger.warn({ err: error }, 'membership lease lost; registering again');
      this.setHeld(false);
      void this.registerAgain();
    });
    const grantedAt = Date.now();
    await lease.put(KEYS.member(this.self)).value(JSON.stringify({ address: this.self, startedAt: this.startedAt }));
    this.renewedAt = grantedAt;
    this.setHeld(true);
    this.logger.info({ node: this.self, leaseTtlMs: this.ttlMs }, 'joined the cluster');
  }

  private async registerAgain(): Promise<void> {
    while (!this.closed) {
      try {
        await this.register();
        return;
      } catch (error) {
        this.logger.warn({ err: error }, 'could not register with etcd; retrying');
        await new Promise((resolve) => setTimeout(resolve, REGRANT_DELAY_MS));
      }
    }
  }

  private check(): void {
    if (this.closed || this.lease === null) return;
    const fresh = Date.now() - this.renewedAt < this.ttlMs - FENCE_MARGIN_MS;
    if (fresh !== this.isHeld) {
      if (!fresh) this.logger.warn({ sinceRenewalMs: Date.now() - this.renewedAt }, 'membership lease not renewed in time: fenced until it is');
      this.setHeld(fresh);
    }
  }

  private setHeld(held: boolean): void {
    if (held === this.isHeld) return;
    this.isHeld = held;
    this.emit('change', held);
  }
}
