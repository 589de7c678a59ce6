/**
 * The state of one reader group: who is in it, which segment each reader owns, and where each
 * segment was last committed. It is a small plain object kept on the group's revisioned stream; every
 * change is a pure function from one state to the next, written with a conditional append at the
 * revision it was computed from, so all readers see the same sequence of states (Pravega's
 * ReaderGroupState over its StateSynchronizer). Each entry of that stream is a whole state, so any
 * suffix of it can be read on its own and the stream can be truncated before its latest entry.
 */
export interface GroupState {
  readonly version: 1;
  /** Where a new group started; the group's creator chose it. */
  readonly from: 'head' | 'tail';
  /** readerId -> the session (one process's incarnation) holding that id. */
  readonly readers: Readonly<Record<string, string>>;
  /** Every segment the group knows, by name. */
  readonly segments: Readonly<Record<string, SegmentState>>;
}

export interface SegmentState {
  /** Committed position: the offset of the first event not yet processed. */
  readonly offset: number;
  /** The readerId reading it, or null while unassigned. */
  readonly owner: string | null;
  /** Sealed and read to the end: never assigned again. */
  readonly finished: boolean;
  /** Segments that must be finished before this one may be read (successors after scaling). */
  readonly predecessors: readonly string[];
}

/** Who is asking for a change: a reader id and the session that holds it. */
export interface Member {
  readonly readerId: string;
  readonly session: string;
}

export function initialState(
  from: 'head' | 'tail',
  offsets: ReadonlyMap<string, number>,
  predecessors: ReadonlyMap<string, readonly string[]> = new Map(),
): GroupState {
  const segments: Record<string, SegmentState> = {};
  for (const [segment, offset] of offsets) segments[segment] = { offset, owner: null, finished: false, predecessors: [...(predecessors.get(segment) ?? [])] };
  return { version: 1, from, readers: {}, segments };
}

export function isMember(state: GroupState, member: Member): boolean {
  return state.readers[member.readerId] === member.session;
}

/** A segment may be handed out: not finished, not owned, and every predecessor finished. */
export function isAssignable(state: GroupState, segment: string): boolean {
  const entry = state.segments[segment];
  return entry !== undefined && !entry.finished && entry.predecessors.every((name) => state.segments[name]?.finished ?? true);
}

export function segmentsOf(state: GroupState, readerId: string): string[] {
  return Object.keys(state.segments).filter((segment) => state.segments[segment]!.owner === readerId);
}

export function unassignedSegments(state: GroupState): string[] {
  return Object.keys(state.segments).filter((segment) => state.segments[segment]!.owner === null && isAssignable(state, segment));
}

/** Every segment is finished: a group reader's iteration ends. */
export function isDrained(state: GroupState): boolean {
  return Object.values(state.segments).every((segment) => segment.finished);
}

/** Adds member (replacing an earlier session of its readerId, whose segments become unassigned). */
export function join(state: GroupState, member: Member): GroupState {
  const cleared = state.readers[member.readerId] === undefined ? state : unassignAll(state, member.readerId);
  return { ...cleared, readers: { ...cleared.readers, [member.readerId]: member.session } };
}

/**
 * Removes a member: its segments become unassigned at the positions given (a graceful leave commits
 * what it processed), or at their last commit (an eviction). Null when it is not a member any more.
 */
export function leave(state: GroupState, member: Member, positions: ReadonlyMap<string, number> = new Map()): GroupState | null {
  if (!isMember(state, member)) return null;
  const readers = { ...state.readers };
  delete readers[member.readerId];
  return { ...unassignAll(commit(state, member, positions) ?? state, member.readerId), readers };
}

/** Records processed positions of the member's own segments; null when nothing changes. */
export function commit(state: GroupState, member: Member, positions: ReadonlyMap<string, number>): GroupState | null {
  if (!isMember(state, member)) return null;
  return changeOwned(state, member, positions, (entry, offset) => (offset > entry.offset ? { ...entry, offset } : entry));
}

/** Gives the member each listed segment that is still assignable and unowned; null when none is. */
export function acquire(state: GroupState, member: Member, wanted: readonly string[]): GroupState | null {
  if (!isMember(state, member)) return null;
  const segments = { ...state.segments };
  let changed = false;
  for (const segment of wanted) {
    const entry = segments[segment];
    if (entry === undefined || entry.owner !== null || !isAssignable(state, segment)) continue;
    segments[segment] = { ...entry, owner: member.readerId };
    changed = true;
  }
  return changed ? { ...state, segments } : null;
}

/** Hands segments back at the positions given (where the member stopped delivering them). */
export function release(state: GroupState, member: Member, positions: ReadonlyMap<string, number>): GroupState | null {
  if (!isMember(state, member)) return null;
  return changeOwned(state, member, positions, (entry, offset) => ({ ...entry, offset: Math.max(entry.offset, offset), owner: null }));
}

/**
 * Marks segments read to their end (at the given end offsets); they are never assigned again. Their
 * successors (from the stream's layout, each with all its predecessors) join the group, assignable
 * once every predecessor is finished.
 */
export function finish(
  state: GroupState,
  member: Member,
  ends: ReadonlyMap<string, number>,
  successors: ReadonlyMap<string, readonly string[]> = new Map(),
): GroupState | null {
  if (!isMember(state, member)) return null;
  const finished = changeOwned(state, member, ends, (entry, offset) => ({ ...entry, offset, owner: null, finished: true }));
  if (finished === null) return null;
  const segments = { ...finished.segments };
  for (const [successor, predecessors] of successors) {
    segments[successor] ??= { offset: 0, owner: null, finished: false, predecessors: [...predecessors] };
  }
  return { ...finished, segments: withoutSpentSegments(segments) };
}

/**
 * Forgets finished segments that no unfinished one waits for, so the state does not grow with every
 * scale. A forgotten predecessor counts as finished (isAssignable), as one deleted by retention does.
 */
function withoutSpentSegments(segments: Record<string, SegmentState>): Record<string, SegmentState> {
  const awaited = new Set(Object.values(segments).flatMap((entry) => (entry.finished ? [] : entry.predecessors)));
  return Object.fromEntries(Object.entries(segments).filter(([name, entry]) => !entry.finished || awaited.has(name)));
}

function changeOwned(
  state: GroupState,
  member: Member,
  positions: ReadonlyMap<string, number>,
  change: (entry: SegmentState, offset: number) => SegmentState,
): GroupState | null {
  const segments = { ...state.segments };
  let changed = false;
  for (const [segment, offset] of positions) {
    const entry = segments[segment];
    if (entry === undefined || entry.owner !== member.readerId) continue;
    const next = change(entry, offset);
    if (next !== entry) {
      segments[segment] = next;
      changed = true;
    }
  }
  return changed ? { ...state, segments } : null;
}

function unassignAll(state: GroupState, readerId: string): GroupState {
  const segments = { ...state.segments };
  for (const segment of segmentsOf(state, readerId)) segments[segment] = { ...segments[segment]!, owner: null };
  return { ...state, segments };
}

/** A segment's index in its stream (`shop/orders/7` -> 7), the order segments are listed in. */
export function segmentIndexOf(segment: string): number {
  return Number(segment.slice(segment.lastIndexOf('/') + 1));
}

export function encodeState(state: GroupState): Buffer {
  return Buffer.from(JSON.stringify(state), 'utf8');
}

export function decodeState(bytes: Uint8Array): GroupState {
  const state = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as GroupState;
  if (state?.version !== 1 || typeof state.readers !== 'object' || typeof state.segments !== 'object') {
    throw new Error('not a reader group state (version 1)');
  }
  return state;
}
