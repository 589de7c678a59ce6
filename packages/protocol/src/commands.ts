/**
 * The one table of commands. Each entry gives the type code on the wire and the body's fields in
 * order; encode, decode, validation and the round-trip tests are all driven from it, so adding a
 * command is one entry here. A body is a msgpack array of the field values in this order (no keys on
 * the wire, no per-connection msgpack state). Payload fields (`data`) come last: a trailing bytes field
 * is written into the frame by reference, without an intermediate msgpack copy.
 *
 * A request's entry also says what it means: the replies it can get (`replies`, beside the error
 * replies every request can get, and those of every request on a segment when `on: 'segment'`), the
 * right a token must grant for it (`right`), and what it is about (`on`: the connection, a segment,
 * a container's replica, the node). A node checks rights from it, and a client refuses a reply of any
 * other type as a protocol violation.
 */

import type { Right } from './rights.js';

/** Field kinds and the TypeScript value each one carries. `?` kinds also accept null. */
export interface FieldKinds {
  /** A non-negative safe integer (offsets, counts, versions): 0 .. 2^53-1. */
  uint: number;
  /** A safe integer that may be -1 (e.g. "no event number yet"). */
  int: number;
  string: string;
  'string?': string | null;
  bytes: Buffer;
  bool: boolean;
  strings: string[];
  /** A list of string lists (e.g. each container's backups). */
  stringLists: string[][];
  /** A segment attribute value: a u64 number, bytes, or null for "absent". */
  attr: AttributeValue;
}
export type AttributeValue = number | Buffer | null;
export type FieldKind = keyof FieldKinds;

interface CommandSpec {
  readonly code: number;
  readonly fields: Readonly<Record<string, FieldKind>>;
}

interface RequestSpec extends CommandSpec {
  /** The replies particular to this request, success replies first. */
  readonly replies: readonly string[];
  /** The right its token must grant; null for a request without one. */
  readonly right: Right | null;
  /**
   * What it is about: 'connection' (flow 0 traffic), 'segment' (served by the segment's owner, so it
   * can also get the ON_SEGMENT_ERRORS), 'replica' (node to node, a container's log), 'node' (what
   * this node holds).
   */
  readonly on: 'connection' | 'segment' | 'replica' | 'node';
}

/** Error replies any request can get: a failure with a code, or a command the node does not serve. */
export const ANY_REQUEST_ERRORS = ['ErrorMessage', 'OperationUnsupported'] as const;
/**
 * Error replies any request on a segment can get besides: not the owner, no such segment, a token
 * that does not allow it, too few replicas of its container.
 */
export const ON_SEGMENT_ERRORS = ['WrongHost', 'NoSuchSegment', 'AuthTokenCheckFailed', 'NotEnoughReplicas'] as const;

const tokenField = { token: 'string?' } as const;

export const COMMANDS = {
  // Connection traffic (flowId 0).
  Hello: { code: 0x01, fields: { minVersion: 'uint', maxVersion: 'uint', clusterFingerprint: 'string?', node: 'string?' }, replies: ['Hello'], right: null, on: 'connection' },
  KeepAlive: { code: 0x02, fields: {}, replies: ['KeepAlive'], right: null, on: 'connection' },
  GetClusterMap: { code: 0x03, fields: {}, replies: ['ClusterMap'], right: null, on: 'connection' },
  // epoch: grows whenever a container's primary changes (0 in static clusters); primaries: the primary
  // of each container by index, '' while it has none. Clients route by primaries, never by guessing.
  // backups: each container's other replicas by index (empty lists where nothing is replicated).
  ClusterMap: {
    code: 0x04,
    fields: { members: 'strings', containerCount: 'uint', fingerprint: 'string', epoch: 'uint', primaries: 'strings', backups: 'stringLists' },
  },
  // Answered with the map once its epoch is above afterEpoch, or as it is after waitMs (capped by the
  // node's --max-read-wait): a client waiting out a failover learns the new primary when it is chosen.
  WatchClusterMap: { code: 0x05, fields: { afterEpoch: 'uint', waitMs: 'uint' }, replies: ['ClusterMap'], right: null, on: 'connection' },

  // Segment administration.
  CreateSegment: { code: 0x10, fields: { segment: 'string', ...tokenField }, replies: ['SegmentCreated', 'SegmentAlreadyExists'], right: 'admin', on: 'segment' },
  SegmentCreated: { code: 0x11, fields: { segment: 'string' } },
  GetSegmentInfo: { code: 0x12, fields: { segment: 'string', ...tokenField }, replies: ['SegmentInfo'], right: 'read', on: 'segment' },
  SegmentInfo: { code: 0x13, fields: { segment: 'string', startOffset: 'uint', length: 'uint', sealed: 'bool' } },
  SealSegment: { code: 0x14, fields: { segment: 'string', ...tokenField }, replies: ['SegmentSealed'], right: 'admin', on: 'segment' },
  SegmentSealed: { code: 0x15, fields: { segment: 'string', length: 'uint' } },
  TruncateSegment: { code: 0x16, fields: { segment: 'string', offset: 'uint', ...tokenField }, replies: ['SegmentTruncated'], right: 'write', on: 'segment' },
  SegmentTruncated: { code: 0x17, fields: { segment: 'string', startOffset: 'uint' } },
  DeleteSegment: { code: 0x18, fields: { segment: 'string', ...tokenField }, replies: ['SegmentDeleted'], right: 'admin', on: 'segment' },
  SegmentDeleted: { code: 0x19, fields: { segment: 'string' } },
  GetAttribute: { code: 0x1a, fields: { segment: 'string', key: 'string', ...tokenField }, replies: ['Attribute'], right: 'read', on: 'segment' },
  Attribute: { code: 0x1b, fields: { segment: 'string', key: 'string', value: 'attr' } },
  UpdateAttribute: {
    code: 0x1c,
    fields: { segment: 'string', key: 'string', expected: 'attr', value: 'attr', ...tokenField },
    replies: ['AttributeUpdated'],
    right: 'write',
    on: 'segment',
  },
  AttributeUpdated: { code: 0x1d, fields: { segment: 'string', key: 'string', success: 'bool', current: 'attr' } },

  // Appends. Event numbers are per writer id and segment; -1 means "none yet".
  SetupAppend: { code: 0x20, fields: { segment: 'string', writerId: 'string', ...tokenField }, replies: ['AppendSetup'], right: 'write', on: 'segment' },
  AppendSetup: { code: 0x21, fields: { segment: 'string', writerId: 'string', lastEventNumber: 'int' } },
  AppendBlock: {
    code: 0x22,
    fields: { segment: 'string', writerId: 'string', lastEventNumber: 'uint', eventCount: 'uint', data: 'bytes' },
    replies: ['DataAppended', 'SegmentIsSealed', 'InvalidEventNumber'],
    right: null,
    on: 'segment',
  },
  DataAppended: {
    code: 0x23,
    fields: { segment: 'string', writerId: 'string?', lastEventNumber: 'int', length: 'uint' },
  },
  ConditionalAppend: {
    code: 0x24,
    fields: {
      segment: 'string',
      writerId: 'string?',
      eventNumber: 'int',
      expectedOffset: 'uint',
      ...tokenField,
      data: 'bytes',
    },
    replies: ['DataAppended', 'ConditionalCheckFailed', 'SegmentIsSealed', 'InvalidEventNumber'],
    right: 'write',
    on: 'segment',
  },
  ConditionalCheckFailed: { code: 0x25, fields: { segment: 'string', length: 'uint' } },
  // Frees a writer's setup on this connection (a closed writer); answered even when there was none.
  ReleaseAppend: { code: 0x26, fields: { segment: 'string', writerId: 'string' }, replies: ['AppendReleased'], right: null, on: 'segment' },
  AppendReleased: { code: 0x27, fields: { segment: 'string', writerId: 'string' } },

  // Reads. A read at the tail waits up to waitMs for data, then answers with no events.
  ReadSegment: {
    code: 0x30,
    fields: { segment: 'string', offset: 'uint', maxBytes: 'uint', waitMs: 'uint', ...tokenField },
    replies: ['SegmentRead', 'SegmentIsTruncated'],
    right: 'read',
    on: 'segment',
  },
  SegmentRead: {
    code: 0x31,
    fields: { segment: 'string', offset: 'uint', length: 'uint', endOfSegment: 'bool', data: 'bytes' },
  },

  // Node to node: a container's primary replicates its log to the backups (docs/protocol.md,
  // "Replication"). A log position is (fileNumber, position): replicas hold byte-identical logs.
  // With auth on, each carries a token for every stream ('*') with the admin right: a peer node's.
  Replicate: {
    code: 0x40,
    fields: {
      container: 'uint',
      epoch: 'uint',
      /** The epoch the records were written in (a batch never spans two): may be older than `epoch` during catch-up. */
      dataEpoch: 'uint',
      fileNumber: 'uint',
      position: 'uint',
      /** Where the primary's commit point (what a majority holds) was when it sent this: the backup applies and checkpoints up to it. */
      committedFileNumber: 'uint',
      committedPosition: 'uint',
      ...tokenField,
      data: 'bytes',
    },
    replies: ['Replicated', 'AuthTokenCheckFailed'],
    right: 'admin',
    on: 'replica',
  },
  Replicated: {
    code: 0x41,
    fields: { container: 'uint', status: 'string', epoch: 'uint', fileNumber: 'uint', position: 'uint' },
  },
  FenceReplica: { code: 0x42, fields: { container: 'uint', epoch: 'uint', ...tokenField }, replies: ['ReplicaFenced', 'AuthTokenCheckFailed'], right: 'admin', on: 'replica' },
  ReplicaFenced: {
    code: 0x43,
    fields: { container: 'uint', status: 'string', epoch: 'uint', lastEpoch: 'uint', fileNumber: 'uint', position: 'uint' },
  },
  GetEpochEnd: { code: 0x44, fields: { container: 'uint', epoch: 'uint', ...tokenField }, replies: ['EpochEnd', 'AuthTokenCheckFailed'], right: 'admin', on: 'replica' },
  EpochEnd: { code: 0x45, fields: { container: 'uint', epoch: 'uint', fileNumber: 'uint', position: 'uint' } },
  FetchLog: {
    code: 0x46,
    fields: { container: 'uint', epoch: 'uint', fileNumber: 'uint', position: 'uint', maxBytes: 'uint', ...tokenField },
    replies: ['LogFetched', 'AuthTokenCheckFailed'],
    right: 'admin',
    on: 'replica',
  },
  LogFetched: { code: 0x47, fields: { container: 'uint', epoch: 'uint', fileNumber: 'uint', position: 'uint', data: 'bytes' } },
  // A backup whose log ends before the primary's first log file gets the primary's checkpoint and
  // log files instead, one chunk per request, in order; the last request (part 'install') installs them.
  InstallSnapshot: {
    code: 0x48,
    fields: {
      container: 'uint',
      epoch: 'uint',
      /** Chosen by the primary per attempt: a chunk of another snapshot than the one being received starts over. */
      snapshot: 'uint',
      /** 'checkpoint', 'log' or 'install'. */
      part: 'string',
      /** 'log': the file's number; 'install': where the installed log ends. */
      fileNumber: 'uint',
      /** 'checkpoint', 'log': the chunk's byte offset in its file; 'install': where the installed log ends. */
      position: 'uint',
      ...tokenField,
      /** 'checkpoint', 'log': the chunk's bytes; 'install': the epoch starts, JSON. */
      data: 'bytes',
    },
    replies: ['SnapshotReceived', 'AuthTokenCheckFailed'],
    right: 'admin',
    on: 'replica',
  },
  SnapshotReceived: { code: 0x49, fields: { container: 'uint', status: 'string', epoch: 'uint' } },
  // A replica being promoted whose log ends before the first log file of the replica holding the
  // longest log asks that replica to send it its container (InstallSnapshot requests to `to`).
  SendSnapshot: {
    code: 0x4a,
    fields: {
      container: 'uint',
      /** The epoch being promoted to: the snapshot's requests carry it. */
      epoch: 'uint',
      /** Where the asking replica's log ends: no snapshot when the records from there are still held ('not-needed'). */
      fileNumber: 'uint',
      position: 'uint',
      /** The asking replica's address, as the container's replicas are named. */
      to: 'string',
      ...tokenField,
    },
    replies: ['SnapshotReceived', 'AuthTokenCheckFailed'],
    right: 'admin',
    on: 'replica',
  },

  // Streams of the cluster: each node answers for the containers it serves; a client asks every node.
  ListStreams: { code: 0x50, fields: { scope: 'string?', ...tokenField }, replies: ['StreamList', 'AuthTokenCheckFailed'], right: 'read', on: 'node' },
  StreamList: { code: 0x51, fields: { streams: 'strings' } },

  // Error replies, each carrying the request id of the request it answers.
  WrongHost: { code: 0x60, fields: { segment: 'string', owner: 'string' } },
  NoSuchSegment: { code: 0x61, fields: { segment: 'string' } },
  SegmentAlreadyExists: { code: 0x62, fields: { segment: 'string' } },
  SegmentIsSealed: { code: 0x63, fields: { segment: 'string', length: 'uint' } },
  SegmentIsTruncated: { code: 0x64, fields: { segment: 'string', startOffset: 'uint' } },
  InvalidEventNumber: { code: 0x65, fields: { segment: 'string', writerId: 'string', lastEventNumber: 'int' } },
  AuthTokenCheckFailed: { code: 0x66, fields: { segment: 'string?', message: 'string' } },
  OperationUnsupported: { code: 0x67, fields: { message: 'string' } },
  ErrorMessage: { code: 0x68, fields: { code: 'string', message: 'string' } },
  NotEnoughReplicas: { code: 0x6f, fields: { segment: 'string', message: 'string' } },
} as const satisfies Record<string, CommandSpec | RequestSpec>;

export type CommandName = keyof typeof COMMANDS;

type FieldsOf<N extends CommandName> = (typeof COMMANDS)[N]['fields'];

type Shape<N extends CommandName> = { type: N } & {
  -readonly [F in keyof FieldsOf<N>]: FieldKinds[FieldsOf<N>[F] & FieldKind];
};

/** Any decoded command: `{ type: 'ReadSegment', segment, offset, … }`, discriminated by `type`. */
export type Command = { [N in CommandName]: Shape<N> }[CommandName];

/** The command (or union of commands) with the given name(s). */
export type CommandOf<N extends CommandName> = Extract<Command, { type: N }>;

type Spec<N extends CommandName> = (typeof COMMANDS)[N];

/** The commands a peer sends expecting a reply (those with `replies`). */
export type RequestName = { [N in CommandName]: Spec<N> extends { replies: readonly string[] } ? N : never }[CommandName];
type RequestOn<On extends RequestSpec['on']> = { [N in RequestName]: Spec<N> extends { on: On } ? N : never }[RequestName];

/** Requests that name a segment: a node checks ownership (and the token) before serving them. */
export type SegmentRequestName = RequestOn<'segment'>;
/** Requests one node sends another to replicate a container's log; never sent by clients. */
export type ReplicationRequestName = RequestOn<'replica'>;

/** Every reply type request N can get, error replies included. */
export type ReplyNameOf<N extends RequestName> =
  | (Spec<N> extends { replies: readonly (infer R)[] } ? R & CommandName : never)
  | (typeof ANY_REQUEST_ERRORS)[number]
  | (Spec<N> extends { on: 'segment' } ? (typeof ON_SEGMENT_ERRORS)[number] : never);

/** Any request: a command that expects a reply. */
export type Request = CommandOf<RequestName>;

/** What request N resolves with on the client: its own replies that are not error replies. */
export type SuccessReplyOf<N extends RequestName> = CommandOf<Exclude<ReplyNameOf<N>, ErrorReplyName>>;

/** Replies that report a failure; the client turns each into an error class with the same code. */
export const ERROR_REPLIES = [
  'WrongHost',
  'NoSuchSegment',
  'SegmentAlreadyExists',
  'SegmentIsSealed',
  'SegmentIsTruncated',
  'InvalidEventNumber',
  'AuthTokenCheckFailed',
  'OperationUnsupported',
  'ErrorMessage',
  'ConditionalCheckFailed',
  'NotEnoughReplicas',
] as const satisfies readonly CommandName[];
export type ErrorReplyName = (typeof ERROR_REPLIES)[number];
export type ErrorReply = CommandOf<ErrorReplyName>;

const errorReplyNames: ReadonlySet<string> = new Set(ERROR_REPLIES);
export function isErrorReply(command: Command): command is ErrorReply {
  return errorReplyNames.has(command.type);
}

export interface CommandEntry {
  readonly name: CommandName;
  readonly code: number;
  readonly fieldNames: readonly string[];
  readonly fieldKinds: readonly FieldKind[];
  /** The last field is `bytes`: the encoder appends it to the frame by reference. */
  readonly trailingBytes: boolean;
  /** For a request, what it means; null for a reply. */
  readonly request: RequestEntry | null;
}

export interface RequestEntry {
  /** Type codes of every reply it can get, error replies included. */
  readonly replyCodes: ReadonlySet<number>;
  readonly right: Right | null;
  readonly on: RequestSpec['on'];
}

export const COMMAND_ENTRIES: readonly CommandEntry[] = Object.entries(COMMANDS).map(([name, spec]) => ({
  name: name as CommandName,
  code: spec.code,
  fieldNames: Object.keys(spec.fields),
  fieldKinds: Object.values(spec.fields) as FieldKind[],
  trailingBytes: Object.values(spec.fields).at(-1) === 'bytes',
  request: 'replies' in spec ? requestEntry(name, spec) : null,
}));

function requestEntry(name: string, spec: RequestSpec): RequestEntry {
  const replies = [...spec.replies, ...ANY_REQUEST_ERRORS, ...(spec.on === 'segment' ? ON_SEGMENT_ERRORS : [])];
  const replyCodes = replies.map((reply) => {
    const replySpec = (COMMANDS as Record<string, CommandSpec>)[reply];
    if (replySpec === undefined) throw new Error(`${name} lists ${reply} among its replies, which is not a command`);
    return replySpec.code;
  });
  return { replyCodes: new Set(replyCodes), right: spec.right, on: spec.on };
}

const byName = new Map(COMMAND_ENTRIES.map((entry) => [entry.name, entry]));
const byCode = new Map(COMMAND_ENTRIES.map((entry) => [entry.code, entry]));
if (byCode.size !== COMMAND_ENTRIES.length) throw new Error('two commands share one type code');

export function entryByName(name: CommandName): CommandEntry {
  return byName.get(name)!;
}

export function entryByCode(code: number): CommandEntry | undefined {
  return byCode.get(code);
}

function requestsOn<N extends RequestName>(on: RequestSpec['on']): readonly N[] {
  return COMMAND_ENTRIES.filter((entry) => entry.request?.on === on).map((entry) => entry.name as N);
}

/** The requests that name a segment, in table order. */
export const SEGMENT_REQUESTS: readonly SegmentRequestName[] = requestsOn<SegmentRequestName>('segment');
/** The node-to-node replication requests, in table order. */
export const REPLICATION_REQUESTS: readonly ReplicationRequestName[] = requestsOn<ReplicationRequestName>('replica');

/** Whether a frame's type code is a node-to-node replication request's (known from the header, before the body is decoded). */
export function isReplicationRequestCode(code: number): boolean {
  return byCode.get(code)?.request?.on === 'replica';
}

/** Whether a reply of type code (a frame's type) can answer the request named requestName. */
export function isReplyTo(requestName: string, code: number): boolean {
  return byName.get(requestName as CommandName)?.request?.replyCodes.has(code) ?? false;
}

/** The right a token must grant for command, or null when it needs none (or is not a request). */
export function rightFor(command: CommandName): Right | null {
  return byName.get(command)?.request?.right ?? null;
}
