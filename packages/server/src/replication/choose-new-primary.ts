import { comparePositions, type LogPosition } from '../store/log-files.js';

/** What a replica reports of its log when fenced or asked: its last epoch and where its log ends. */
export interface LogReport {
  node: string;
  lastEpoch: number;
  end: LogPosition;
}

/**
 * The replica whose log holds every other one's acknowledged records: the highest last epoch, then
 * the longest log (Raft's "at least as up to date"); ties go to the earlier report, so the caller's
 * order (the assignment's) breaks them. Null for no reports.
 */
export function longestLog<R extends LogReport>(reports: readonly R[]): R | null {
  let best: R | null = null;
  for (const report of reports) {
    if (best === null || report.lastEpoch > best.lastEpoch || (report.lastEpoch === best.lastEpoch && comparePositions(report.end, best.end) > 0)) {
      best = report;
    }
  }
  return best;
}

/** Asks a replica for its log report without changing anything; null when it does not answer. */
export type ReportLog = (node: string, container: number) => Promise<LogReport | null>;

/**
 * The controller's choice of a new primary for `container` among its live replicas: the one with the
 * longest log among those that answer (so the promotion fetches the least), else the first live one.
 * Any live replica would be safe: a promotion fences a majority and takes the longest log there.
 */
export function chooseNewPrimaryWith(reportLog: ReportLog) {
  return async function chooseNewPrimary(container: number, liveReplicaIds: readonly string[]): Promise<string | null> {
    if (liveReplicaIds.length === 0) return null;
    const reports = await Promise.all(liveReplicaIds.map((node) => reportLog(node, container).catch(() => null)));
    const best = longestLog(reports.filter((report): report is LogReport => report !== null));
    return best?.node ?? liveReplicaIds[0]!;
  };
}
