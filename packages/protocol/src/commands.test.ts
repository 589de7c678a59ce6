import { describe, expect, it } from 'vitest';
import { isCommandOf } from './body-codec.js';
import {
  ANY_REQUEST_ERRORS,
  COMMAND_ENTRIES,
  COMMANDS,
  ERROR_REPLIES,
  REPLICATION_REQUESTS,
  SEGMENT_REQUESTS,
  entryByCode,
  entryByName,
  isErrorReply,
  isReplicationRequestCode,
  isReplyTo,
  rightFor,
  type Command,
  type CommandEntry,
  type CommandName,
  type FieldKind,
  type FieldKinds,
} from './commands.js';
import { ERROR_CODES, errorCodeOfReply, isErrorCode, isRetriableCode } from './error-codes.js';
import { ENVELOPE_FIXED_SIZE } from './envelope.js';
import { encodeEvents, envelopesOf, validateEventBlock } from './event-block.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { DEFAULT_LIMITS } from './limits.js';
import { MAX_FLOW_ID, MAX_SEQUENCE } from './request-id.js';

/** Every command DESIGN.md lists; the table may grow, it must not lose one. */
const DESIGN_COMMANDS = [
  'Hello', 'KeepAlive', 'GetClusterMap', 'ClusterMap', 'CreateSegment', 'SegmentCreated', 'GetSegmentInfo',
  'SegmentInfo', 'SealSegment', 'SegmentSealed', 'TruncateSegment', 'SegmentTruncated', 'DeleteSegment',
  'SegmentDeleted', 'GetAttribute', 'Attribute', 'UpdateAttribute', 'AttributeUpdated', 'SetupAppend',
  'AppendSetup', 'AppendBlock', 'DataAppended', 'ConditionalAppend', 'ConditionalCheckFailed', 'ReadSegment',
  'SegmentRead', 'WrongHost', 'NoSuchSegment', 'SegmentAlreadyExists', 'SegmentIsSealed', 'SegmentIsTruncated',
  'InvalidEventNumber', 'AuthTokenCheckFailed', 'OperationUnsupported', 'ErrorMessage',
];

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53-1
const EIGHT_MIB = 8 * 1024 * 1024;

function patterned(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 8)) & 0xff;
  return bytes;
}

/**
 * Sample values per field kind, boundaries first. Sample i of a command takes variant (i + field index)
 * of each field's kind, so every variant of every field appears at least once.
 */
const VARIANTS: { [K in FieldKind]: readonly FieldKinds[K][] } = {
  uint: [0, MAX_SAFE, 2 ** 32 - 1, 2 ** 32, 1],
  int: [-1, 0, MAX_SAFE],
  string: ['', 'shop/orders/0', 'ünïcødé 🚀 日本語 \u0000 end', 'x'.repeat(70_000)],
  'string?': [null, '', 'tøken 🔑'],
  bytes: [Buffer.alloc(0), patterned(EIGHT_MIB), Buffer.from([0, 1, 0x7f, 0x80, 0xff])],
  bool: [false, true],
  strings: [[], ['127.0.0.1:9090', 'nøde-2:9091', '']],
  stringLists: [[], [[], ['127.0.0.1:9091', 'nøde-3:9092']]],
  attr: [null, 0, MAX_SAFE, Buffer.from('attr'), Buffer.alloc(0)],
};
const SAMPLES_PER_COMMAND = Math.max(...Object.values(VARIANTS).map((variants) => variants.length));

function sampleCommand(entry: CommandEntry, sample: number): Command {
  const command: Record<string, unknown> = { type: entry.name };
  entry.fieldKinds.forEach((kind, field) => {
    const variants = VARIANTS[kind] as readonly unknown[];
    command[entry.fieldNames[field]!] = variants[(sample + field) % variants.length];
  });
  return command as Command;
}

/** Field-by-field comparison: Buffers by content (and they must come back as Buffers), the rest deeply. */
function expectSameCommand(actual: Command, expected: Command): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  const got = actual as unknown as Record<string, unknown>;
  for (const [field, want] of Object.entries(expected)) {
    if (Buffer.isBuffer(want)) {
      expect(Buffer.isBuffer(got[field]), `${actual.type}.${field} is a Buffer`).toBe(true);
      expect((got[field] as Buffer).equals(want), `${actual.type}.${field} bytes`).toBe(true);
    } else {
      expect(got[field], `${actual.type}.${field}`).toStrictEqual(want);
    }
  }
}

const HEADERS: readonly [flowId: number, sequence: number][] = [
  [MAX_FLOW_ID, MAX_SEQUENCE],
  [0, 0],
  [1, 0x8000_0000],
];

describe('the command table', () => {
  it('holds every command DESIGN.md lists', () => {
    const names = COMMAND_ENTRIES.map((entry) => entry.name as string);
    for (const name of DESIGN_COMMANDS) expect(names).toContain(name);
  });

  it('gives each command a unique u16 type code, and none is 0', () => {
    const codes = COMMAND_ENTRIES.map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(Number.isInteger(code)).toBe(true);
      expect(code).toBeGreaterThan(0);
      expect(code).toBeLessThanOrEqual(0xffff);
    }
  });

  it('is indexed both ways', () => {
    for (const entry of COMMAND_ENTRIES) {
      expect(entryByName(entry.name)).toBe(entry);
      expect(entryByCode(entry.code)).toBe(entry);
      expect(entry.fieldNames).toEqual(Object.keys(COMMANDS[entry.name].fields));
      expect(entry.fieldNames).not.toContain('type');
    }
    expect(entryByCode(0)).toBeUndefined();
    expect(entryByCode(0xffff)).toBeUndefined();
  });

  it('marks the error replies, and only those', () => {
    for (const entry of COMMAND_ENTRIES) {
      const command = sampleCommand(entry, 0);
      expect(isErrorReply(command), entry.name).toBe((ERROR_REPLIES as readonly string[]).includes(entry.name));
      expect(isCommandOf(command, entry.name)).toBe(true);
    }
  });
});

describe('encodeFrame -> decodeFrame round trip, generated from the table', () => {
  it.each(COMMAND_ENTRIES.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
    for (let sample = 0; sample < SAMPLES_PER_COMMAND; sample++) {
      const command = sampleCommand(entry, sample);
      const [flowId, sequence] = HEADERS[sample % HEADERS.length]!;
      const frame = encodeFrame(flowId, sequence, command);
      expect(frame.byteLength).toBeLessThanOrEqual(DEFAULT_LIMITS.maxFrameSize);
      expect(frame.readUInt16BE(4)).toBe(entry.code);
      const decoded = decodeFrame(frame);
      expect(decoded.flowId).toBe(flowId);
      expect(decoded.sequence).toBe(sequence);
      expectSameCommand(decoded.command, command);
    }
  });

  it('covers every variant of every field kind the table uses', () => {
    const kinds = new Set(COMMAND_ENTRIES.flatMap((entry) => entry.fieldKinds));
    for (const kind of kinds) expect(VARIANTS[kind], kind).toBeDefined();
    expect(SAMPLES_PER_COMMAND).toBeGreaterThanOrEqual(Math.max(...[...kinds].map((kind) => VARIANTS[kind].length)));
  });

  it('carries an append block holding an 8 MiB event and an empty event', () => {
    const big = patterned(DEFAULT_LIMITS.maxEventSize - ENVELOPE_FIXED_SIZE);
    const data = encodeEvents([{ data: big }, { data: Buffer.alloc(0) }, { data: Buffer.from('last') }]);
    const command: Command = {
      type: 'AppendBlock',
      segment: 'shop/orders/3',
      writerId: 'writer-1',
      lastEventNumber: MAX_SAFE,
      eventCount: 3,
      data,
    };
    const decoded = decodeFrame(encodeFrame(MAX_FLOW_ID, MAX_SEQUENCE, command)).command;
    expectSameCommand(decoded, command);
    if (!isCommandOf(decoded, 'AppendBlock')) throw new Error('wrong type');
    expect(validateEventBlock(decoded.data, DEFAULT_LIMITS.maxEventSize)).toBe(3);
    const events = envelopesOf(decoded.data).map((event) => event.data);
    expect(events.map((event) => event.byteLength)).toEqual([big.byteLength, 0, 4]);
    expect(events[0]!.equals(big)).toBe(true);
  });

  it('sends an omitted nullable field as null', () => {
    const decoded = decodeFrame(encodeFrame(1, 1, { type: 'CreateSegment', segment: 's' } as Command)).command;
    expect(decoded).toEqual({ type: 'CreateSegment', segment: 's', token: null });
  });
});

describe('what requests mean', () => {
  const code = (name: CommandName): number => entryByName(name).code;
  const requests = COMMAND_ENTRIES.filter((entry) => entry.request !== null);

  it('gives every request its replies, and every command that carries a token a right', () => {
    for (const entry of requests) {
      expect(entry.request!.replyCodes.size).toBeGreaterThan(ANY_REQUEST_ERRORS.length);
      for (const replyCode of entry.request!.replyCodes) expect(entryByCode(replyCode)).toBeDefined();
      expect(entry.request!.right !== null, entry.name).toBe(entry.fieldNames.includes('token'));
    }
    expect(requests.map((entry) => entry.name).sort()).toEqual(
      ['Hello', 'KeepAlive', 'GetClusterMap', 'WatchClusterMap', 'ListStreams', ...SEGMENT_REQUESTS, ...REPLICATION_REQUESTS].sort(),
    );
    expect(REPLICATION_REQUESTS).toEqual(['Replicate', 'FenceReplica', 'GetEpochEnd', 'FetchLog', 'InstallSnapshot', 'SendSnapshot']);
    for (const entry of COMMAND_ENTRIES) expect(isReplicationRequestCode(entry.code), entry.name).toBe(REPLICATION_REQUESTS.includes(entry.name as never));
    expect(isReplicationRequestCode(0xffff)).toBe(false);
  });

  it('names the right each command needs (replication: admin, with a token for every stream); connection traffic, AppendBlock and ReleaseAppend (tokenless, on a set-up flow) need none', () => {
    const rights = Object.fromEntries(requests.flatMap((entry) => (entry.request!.right ? [[entry.name, entry.request!.right]] : [])));
    expect(rights).toEqual({
      ReadSegment: 'read',
      ListStreams: 'read',
      GetSegmentInfo: 'read',
      GetAttribute: 'read',
      SetupAppend: 'write',
      ConditionalAppend: 'write',
      UpdateAttribute: 'write',
      TruncateSegment: 'write',
      CreateSegment: 'admin',
      SealSegment: 'admin',
      DeleteSegment: 'admin',
      Replicate: 'admin',
      FenceReplica: 'admin',
      GetEpochEnd: 'admin',
      FetchLog: 'admin',
      InstallSnapshot: 'admin',
      SendSnapshot: 'admin',
    });
    expect(rightFor('AppendBlock')).toBeNull();
    expect(rightFor('Hello')).toBeNull();
    expect(rightFor('SegmentRead')).toBeNull();
  });

  it('accepts a request’s own replies and the error replies it can get, and nothing else', () => {
    expect(isReplyTo('CreateSegment', code('SegmentCreated'))).toBe(true);
    expect(isReplyTo('CreateSegment', code('SegmentAlreadyExists'))).toBe(true);
    expect(isReplyTo('CreateSegment', code('WrongHost'))).toBe(true);
    expect(isReplyTo('CreateSegment', code('NotEnoughReplicas'))).toBe(true);
    expect(isReplyTo('CreateSegment', code('ErrorMessage'))).toBe(true);
    expect(isReplyTo('CreateSegment', code('ClusterMap'))).toBe(false);
    expect(isReplyTo('CreateSegment', code('SegmentInfo'))).toBe(false);
    expect(isReplyTo('ReadSegment', code('SegmentIsTruncated'))).toBe(true);
    expect(isReplyTo('ReleaseAppend', code('AppendReleased'))).toBe(true);
    expect(isReplyTo('ListStreams', code('StreamList'))).toBe(true);
    expect(isReplyTo('ListStreams', code('WrongHost'))).toBe(false);
    expect(isReplyTo('FetchLog', code('LogFetched'))).toBe(true);
    expect(isReplyTo('FetchLog', code('Replicated'))).toBe(false);
    expect(isReplyTo('InstallSnapshot', code('SnapshotReceived'))).toBe(true);
    expect(isReplyTo('InstallSnapshot', code('Replicated'))).toBe(false);
    expect(isReplyTo('GetClusterMap', code('ClusterMap'))).toBe(true);
    expect(isReplyTo('GetClusterMap', code('WrongHost'))).toBe(false);
    expect(isReplyTo('SegmentCreated', code('SegmentCreated'))).toBe(false);
  });

  it('has a code with a retriable flag for every error reply, and only the passing ones retriable', () => {
    for (const name of ERROR_REPLIES) {
      if (name !== 'ErrorMessage') expect(errorCodeOfReply({ type: name } as Command), name).not.toBeNull();
    }
    expect(errorCodeOfReply({ type: 'SegmentIsSealed', segment: 's', length: 1 })).toBe('SEGMENT_IS_SEALED');
    expect(errorCodeOfReply({ type: 'ErrorMessage', code: 'SHUTTING_DOWN', message: '' })).toBe('SHUTTING_DOWN');
    expect(errorCodeOfReply({ type: 'SegmentCreated', segment: 's' })).toBeNull();
    const retriable = Object.entries(ERROR_CODES)
      .filter(([, spec]) => spec.retriable)
      .map(([name]) => name);
    expect(retriable.sort()).toEqual([
      'APPEND_SETUP_EXPIRED',
      'FENCED',
      'INTERNAL_ERROR',
      'NOT_ENOUGH_REPLICAS',
      'NOT_PRIMARY',
      'NO_APPEND_SETUP',
      'SHUTTING_DOWN',
      'STORE_CLOSED',
      'WRONG_HOST',
    ]);
    expect(isRetriableCode('NOT_A_CODE')).toBe(false);
    expect(isRetriableCode('DISK_FULL')).toBe(false);
    expect(isRetriableCode('toString')).toBe(false);
    expect([isErrorCode('FENCED'), isErrorCode('ENOENT'), isErrorCode('toString'), isErrorCode(7)]).toEqual([true, false, false, false]);
  });
});
