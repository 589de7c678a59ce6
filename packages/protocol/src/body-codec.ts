import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
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

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
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
  strings: isStrings,
  stringLists: (value) => Array.isArray(value) && value.every(isStrings),
  attr: (value) => value === null || isUint(value) || isBytes(value),
};

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const EMPTY = Buffer.alloc(0);
/** msgpack's bin 32 header: 0xc6 then a u32 length. Any length may use it, however small. */
const BIN32_HEADER_SIZE = 5;
/** An empty bin is packed as bin 8 of length 0: c4 00. */
const EMPTY_BIN_SIZE = 2;

/**
 * Encodes a command's body after `reserve` free bytes at the start of the returned buffer (the frame
 * encoder writes its header there, so a control frame is packed once and never copied). Values are
 * checked as on decode, so a sender's bug fails the one call that made it instead of making the peer
 * close a connection shared by many flows.
 *
 * A trailing bytes field is packed as an empty bin (always the two bytes c4 00), which is then
 * replaced by a bin 32 header for the real payload: msgpackr would otherwise copy a 1 MiB append
 * block into its own buffer only for us to copy it again into the frame.
 */
export function encodeBodyAfter(command: Command, reserve: number): Buffer {
  const entry = entryByName(command.type);
  const source = command as unknown as Record<string, unknown>;
  const values = new Array<unknown>(entry.fieldNames.length);
  for (let i = 0; i < values.length; i++) values[i] = checkedField(entry, i, source[entry.fieldNames[i]!] ?? null);
  // msgpackr leaves `reserve` bytes free in front of what it packs; its buffer is never reused under
  // a returned view, so the result may be kept.
  const options = reserve > 0 ? RESERVE_START_SPACE | reserve : 0;
  if (!entry.trailingBytes) return packr.pack(values, options);
  const payload = values[values.length - 1] as Buffer;
  values[values.length - 1] = EMPTY;
  const packed = packr.pack(values, options);
  const headLength = packed.byteLength - EMPTY_BIN_SIZE;
  const body = Buffer.allocUnsafe(headLength + BIN32_HEADER_SIZE + payload.byteLength);
  packed.copy(body, 0, 0, headLength);
  body[headLength] = 0xc6;
  body.writeUInt32BE(payload.byteLength, headLength + 1);
  payload.copy(body, headLength + BIN32_HEADER_SIZE);
  return body;
}

export function encodeBody(command: Command): Buffer {
  return encodeBodyAfter(command, 0);
}

function checkedField(entry: CommandEntry, index: number, value: unknown): unknown {
  const kind = entry.fieldKinds[index]!;
  if (!fieldChecks[kind](value)) {
    throw new ProtocolError('MALFORMED_BODY', `${entry.name}.${entry.fieldNames[index]}: expected ${kind}`);
  }
  return value;
}

function unpack(entry: CommandEntry, bytes: Uint8Array, start: number, end: number): unknown {
  try {
    return unpackr.unpack(bytes, { start, end });
  } catch (error) {
    throw new ProtocolError('MALFORMED_BODY', `${entry.name}: undecodable body (${(error as Error).message})`);
  }
}

/** Decodes and type-checks a body; anything wrong is a ProtocolError naming the command and field. */
/** Decodes the body in bytes[start, end) (the whole of bytes by default) without slicing it out. */
export function decodeBody(code: number, bytes: Uint8Array, start = 0, end = bytes.byteLength): Command {
  const entry = entryByCode(code);
  if (!entry) throw new ProtocolError('UNKNOWN_COMMAND', `unknown command type 0x${code.toString(16)}`);
  const values = unpack(entry, bytes, start, end);
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
