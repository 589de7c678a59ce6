import { Packr, Unpackr } from 'msgpackr';
import {
  entryByCode,
  entryByName,
  type Command,
  type CommandEntry,
  type CommandName,
  type CommandOf,
  type FieldKind,
} from './commands.js';
import { ProtocolError } from './errors.js';

/*
 * Bodies are msgpack arrays of field values in table order. Records/structures are off, so the
 * codec keeps no state between frames: any frame decodes on its own, on any connection.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isBytes(value: unknown): value is Buffer {
  return value instanceof Uint8Array;
}

const fieldChecks: Record<FieldKind, (value: unknown) => boolean> = {
  uint: isUint,
  int: (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= -1,
  string: (value) => typeof value === 'string',
  'string?': (value) => value === null || typeof value === 'string',
  bytes: isBytes,
  bool: (value) => typeof value === 'boolean',
  strings: (value) => Array.isArray(value) && value.every((item) => typeof item === 'string'),
  attr: (value) => value === null || isUint(value) || isBytes(value),
};

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const EMPTY = Buffer.alloc(0);
/** msgpack's bin 32 header: 0xc6 then a u32 length. Any length may use it, however small. */
const BIN32_HEADER_SIZE = 5;

/**
 * A body split in two: msgpack bytes, then (for commands ending in a bytes field) the payload that
 * follows them verbatim. The payload is referenced, never copied, until the frame is assembled.
 */
export interface BodyParts {
  head: Buffer;
  payload: Buffer | null;
}

/**
 * Encodes a command's body. Values are checked as on decode, so a sender's bug fails the one call
 * that made it instead of making the peer close a connection shared by many flows.
 *
 * A trailing bytes field is packed as an empty bin (always the two bytes c4 00), which is then
 * replaced by a bin 32 header for the real payload: msgpackr would otherwise copy a 64 KiB append
 * block into its own buffer only for the frame encoder to copy it again.
 */
export function encodeBodyParts(command: Command): BodyParts {
  const entry = entryByName(command.type);
  const source = command as unknown as Record<string, unknown>;
  const values = new Array<unknown>(entry.fieldNames.length);
  for (let i = 0; i < values.length; i++) values[i] = checkedField(entry, i, source[entry.fieldNames[i]!] ?? null);
  if (!entry.trailingBytes) return { head: packr.pack(values), payload: null };
  const payload = values[values.length - 1] as Buffer;
  values[values.length - 1] = EMPTY;
  const packed = packr.pack(values);
  const head = Buffer.allocUnsafe(packed.byteLength - 2 + BIN32_HEADER_SIZE);
  packed.copy(head, 0, 0, packed.byteLength - 2);
  head[packed.byteLength - 2] = 0xc6;
  head.writeUInt32BE(payload.byteLength, packed.byteLength - 1);
  return { head, payload };
}

export function bodyPartsLength(parts: BodyParts): number {
  return parts.head.byteLength + (parts.payload?.byteLength ?? 0);
}

export function encodeBody(command: Command): Buffer {
  const parts = encodeBodyParts(command);
  return parts.payload ? Buffer.concat([parts.head, parts.payload]) : parts.head;
}

function checkedField(entry: CommandEntry, index: number, value: unknown): unknown {
  const kind = entry.fieldKinds[index]!;
  if (!fieldChecks[kind](value)) {
    throw new ProtocolError('MALFORMED_BODY', `${entry.name}.${entry.fieldNames[index]}: expected ${kind}`);
  }
  return value;
}

function unpack(entry: CommandEntry, body: Uint8Array): unknown {
  try {
    return unpackr.unpack(body);
  } catch (error) {
    throw new ProtocolError('MALFORMED_BODY', `${entry.name}: undecodable body (${(error as Error).message})`);
  }
}

/** Decodes and type-checks a body; anything wrong is a ProtocolError naming the command and field. */
export function decodeBody(code: number, body: Uint8Array): Command {
  const entry = entryByCode(code);
  if (!entry) throw new ProtocolError('UNKNOWN_COMMAND', `unknown command type 0x${code.toString(16)}`);
  const values = unpack(entry, body);
  if (!Array.isArray(values) || values.length !== entry.fieldNames.length) {
    throw new ProtocolError('MALFORMED_BODY', `${entry.name}: expected ${entry.fieldNames.length} fields`);
  }
  const command: Record<string, unknown> = { type: entry.name };
  for (let i = 0; i < values.length; i++) {
    const value = checkedField(entry, i, values[i]);
    // msgpack bin decodes to a view of the frame's bytes (no copy); callers always get a Buffer.
    command[entry.fieldNames[i]!] = isBytes(value) ? asBuffer(value) : value;
  }
  return command as Command;
}

export function isCommandOf<N extends CommandName>(command: Command, name: N): command is CommandOf<N> {
  return command.type === name;
}
