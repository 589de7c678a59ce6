import type { CommandOf } from '@sluice/protocol';

import { comparePositions, type LogPosition } from '../store/log-files.js';
import type { StoreLogger } from '../store/types.js';
import { longestLog, type LogReport } from './choose-new-primary.js';
import { FencedError, NotEnoughReplicasError } from './errors.js';
import type { PeerLink } from './peer-link.js';
import { majorityOf } from './quorum.js';
import { divergencePoint, type ReplicatedLog } from './replicated-log.js';

/** After a majority answered the fence, how long the other replicas still get to answer too. */
const FENCE_GRACE_MS = 200;
const FETCH_BYTES = 1024 * 1024;

export type PromotionOutcome = { kind: 'primary' } | { kind: 'cut-first'; end: LogPosition } | { kind: 'snapshot-first' };

export interface Promotion {
  container: number;
  epoch: number;
  backups: readonly PeerLink[];
  /** How many replicas a majority is counted over. */
  replicas: number;
  /** This node's address, as the replicas are named: where a snapshot it asks for is sent. */
  self: string;
  /** A snapshot asked for that sends nothing this long is given up (the promotion retries). */
  snapshotStallMs: number;
  logger: StoreLogger;
}

/**
 * Makes this replica the primary of `epoch`: (1) fence a majority of the replicas at `epoch`, each
 * answering with its last epoch and log end, so no older primary can get anything acknowledged by
 * them any more; (2) take the longest log among them, fetching the tail this replica lacks (after
 * cutting its own divergent tail, which the caller does when told `cut-first`); (3) record the
 * epoch's start and serve. Every record acknowledged before was on a majority, which shares a
 * replica with the fenced majority, so the longest log holds it. When that replica no longer has
 * the records after this log's end in its files (it retired them), it sends this replica its
 * container as a snapshot, and the caller promotes again once the container reopened from it
 * (`snapshot-first`).
 * Throws NotEnoughReplicasError without a majority and FencedError when a newer epoch exists.
 */
export async function promote(log: ReplicatedLog, promotion: Promotion): Promise<PromotionOutcome> {
  const { container, epoch, backups, replicas, logger } = promotion;
  if (log.history.fencedEpoch > epoch) throw new FencedError(container, epoch, log.history.fencedEpoch);
  await log.history.fence(epoch);
  const own = await log.fence({ type: 'FenceReplica', container, epoch });
  const answers = await fenceMajority(container, epoch, backups, majorityOf(replicas) - 1);
  const newer = answers.find(({ reply }) => reply.status === 'fenced');
  if (newer) throw new FencedError(container, epoch, newer.reply.epoch);

  const mine: LogReport & { link: PeerLink | null } = { node: 'self', link: null, lastEpoch: own.lastEpoch, end: endOf(own) };
  const reports = answers.map(({ link, reply }) => ({ node: link.node, link, lastEpoch: reply.lastEpoch, end: endOf(reply) }));
  const best = longestLog([mine, ...reports])!;
  if (best.link !== null) {
    const source = best.link;
    const theirs = await source.request<'GetEpochEnd'>({ type: 'GetEpochEnd', container, epoch: mine.lastEpoch });
    const cut = divergencePoint(log.history, mine.lastEpoch, mine.end, theirs);
    if (cut !== null) return { kind: 'cut-first', end: cut };
    try {
      await fetchTail(log, container, epoch, source, best.end);
    } catch (error) {
      if (!(await pullSnapshot(log, promotion, source))) throw error;
      logger.info({ container, epoch, from: source.node }, 'promotion: received a snapshot of the longest log; promoting again once reopened from it');
      return { kind: 'snapshot-first' };
    }
    logger.info({ container, epoch, from: source.node }, 'promotion: took the longest log from a replica');
  }
  await log.history.startEpoch(epoch, log.endPosition);
  log.becomePrimary(epoch, backups, replicas);
  return { kind: 'primary' };
}

/** Fences every backup; resolves once `needed` answered (and briefly waits for the rest), or throws. */
async function fenceMajority(
  container: number,
  epoch: number,
  backups: readonly PeerLink[],
  needed: number,
): Promise<Array<{ link: PeerLink; reply: CommandOf<'ReplicaFenced'> }>> {
  const answers: Array<{ link: PeerLink; reply: CommandOf<'ReplicaFenced'> }> = [];
  if (needed <= 0 && backups.length === 0) return answers;
  await new Promise<void>((resolve, reject) => {
    let settled = 0;
    let grace: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (grace !== null) clearTimeout(grace);
      if (answers.length >= needed) resolve();
      else reject(new NotEnoughReplicasError(`container ${container}: only ${answers.length + 1} of the ${needed + 1} replicas a majority needs answered the fence at epoch ${epoch}`));
    };
    for (const link of backups) {
      link.request<'FenceReplica'>({ type: 'FenceReplica', container, epoch }).then(
        (reply) => answers.push({ link, reply }),
        () => undefined,
      ).finally(() => {
        settled += 1;
        if (settled === backups.length) finish();
        else if (answers.length >= needed && grace === null) grace = setTimeout(finish, FENCE_GRACE_MS);
      });
    }
    if (backups.length === 0) finish();
  });
  return answers;
}

async function fetchTail(log: ReplicatedLog, container: number, epoch: number, source: PeerLink, end: LogPosition): Promise<void> {
  let from = log.endPosition;
  while (comparePositions(from, end) < 0) {
    const fetched = await source.request<'FetchLog'>({ type: 'FetchLog', container, epoch, fileNumber: from.fileNumber, position: from.position, maxBytes: FETCH_BYTES });
    if (fetched.data.byteLength === 0) {
      throw new NotEnoughReplicasError(`container ${container}: ${source.node} sent nothing from ${from.fileNumber}:${from.position} though its log ends at ${end.fileNumber}:${end.position}`);
    }
    from = await log.appendFetched(fetched);
  }
}

/**
 * Asks `source` for its container as a snapshot, since it could not send the records after this
 * log's end. True once received whole; false when `source` says records would do (or does not know
 * this node as a replica yet): the fetch's failure stands.
 */
async function pullSnapshot(log: ReplicatedLog, { container, epoch, self, snapshotStallMs }: Promotion, source: PeerLink): Promise<boolean> {
  const from = log.endPosition;
  // Awaited before asking: the first chunk may arrive before the answer.
  const received = log.awaitSnapshot(epoch, snapshotStallMs);
  const reply = await source
    .request<'SendSnapshot'>({ type: 'SendSnapshot', container, epoch, fileNumber: from.fileNumber, position: from.position, to: self })
    .catch((error: unknown) => {
      log.stopAwaitingSnapshot();
      throw error;
    });
  if (reply.status !== 'sending') log.stopAwaitingSnapshot();
  if (reply.status === 'fenced') throw new FencedError(container, epoch, reply.epoch);
  if (reply.status !== 'sending') return false;
  await received;
  return true;
}

function endOf(reply: { fileNumber: number; position: number }): LogPosition {
  return { fileNumber: reply.fileNumber, position: reply.position };
}
