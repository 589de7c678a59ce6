/**
 * A container's records cannot be acknowledged right now: this node is not its serving primary, a
 * majority of its replicas did not confirm in time, or it was fenced by a newer epoch. Sent to
 * clients as NotEnoughReplicas, which writers and readers retry (the cluster heals or moves on).
 */
export class NotEnoughReplicasError extends Error {
  override readonly name = 'NotEnoughReplicasError';
  readonly code = 'NOT_ENOUGH_REPLICAS';
  readonly retriable = true;
}

/** A replica refused a request of an older epoch: a newer primary exists and this one must stop. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  readonly code = 'FENCED';
  readonly retriable = true;
  constructor(
    readonly container: number,
    readonly epoch: number,
    readonly newerEpoch: number,
  ) {
    super(`container ${container} at epoch ${epoch} is fenced: a replica has seen epoch ${newerEpoch}`);
  }
}

/**
 * FetchLog asked for records this replica no longer has in its files (the checkpointer retired the
 * file they are in): the asker needs a snapshot of the container (SendSnapshot) instead.
 */
export class LogRetiredError extends Error {
  override readonly name = 'LogRetiredError';
  readonly code = 'LOG_RETIRED';
  readonly retriable = true;
  constructor(
    readonly container: number,
    readonly from: { fileNumber: number; position: number },
  ) {
    super(`container ${container}: the records from ${from.fileNumber}:${from.position} were retired from this replica's log files (ask it for a snapshot: SendSnapshot)`);
  }
}
