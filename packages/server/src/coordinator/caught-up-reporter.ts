import type { Namespace } from 'etcd3';
import type { Logger } from 'pino';

import type { ContainerRoles } from '../cluster/container-roles.js';
import type { EtcdMirror } from './etcd-mirror.js';
import { containerOfAssignmentKey, decodeAssignment, decodeEpoch, KEYS } from './records.js';

/**
 * Resolves once replica holds the container's whole log as of epoch (the data plane catches it up
 * and knows); rejects if that cannot happen at this epoch (the report is then retried on the next change).
 */
export type WhenCaughtUp = (container: number, epoch: number, replica: string) => Promise<void>;

/** Without a data plane there is nothing to catch up on. */
export const alreadyCaughtUp: WhenCaughtUp = async () => undefined;

/**
 * On the primary of each container: for every replica the controller marked as joining, waits until
 * the data plane says it caught up, then writes caughtup/<container>/<replica> = {epoch}, which lets
 * the controller count it in sync (and only then move the primary to it).
 */
export class CaughtUpReporter {
  private readonly inFlight = new Set<string>();
  private closed = false;

  constructor(
    private readonly etcd: Namespace,
    private readonly mirror: EtcdMirror,
    private readonly roles: ContainerRoles,
    private readonly whenCaughtUp: WhenCaughtUp,
    private readonly logger: Logger,
  ) {
    mirror.on('change', (key) => {
      if (key.startsWith(KEYS.assignmentsPrefix) || key.startsWith(KEYS.caughtUpPrefix)) this.scan();
    });
    roles.onChange(() => this.scan());
  }

  close(): void {
    this.closed = true;
  }

  scan(): void {
    if (this.closed) return;
    for (const [key, entry] of this.mirror.withPrefix(KEYS.assignmentsPrefix)) {
      const container = containerOfAssignmentKey(key);
      const assignment = decodeAssignment(entry.value);
      if (container === null || assignment === null || this.roles.roleOf(container).role !== 'primary') continue;
      for (const replica of assignment.joining) this.report(container, assignment.epoch, replica);
    }
  }

  private report(container: number, epoch: number, replica: string): void {
    const key = KEYS.caughtUp(container, replica);
    const reported = this.mirror.get(key);
    if (reported !== undefined && (decodeEpoch(reported.value) ?? -1) >= epoch) return;
    const job = `${key}@${epoch}`;
    if (this.inFlight.has(job)) return;
    this.inFlight.add(job);
    this.whenCaughtUp(container, epoch, replica)
      .then(async () => {
        if (this.closed || this.roles.roleOf(container).epoch !== epoch) return;
        await this.etcd.put(key).value(JSON.stringify({ epoch }));
        this.logger.info({ container, epoch, replica }, 'replica caught up');
      })
      .catch((error: unknown) => this.logger.warn({ err: error, container, epoch, replica }, 'replica did not catch up'))
      .finally(() => this.inFlight.delete(job));
  }
}
