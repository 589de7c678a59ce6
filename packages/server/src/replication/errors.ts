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
