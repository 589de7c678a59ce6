import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody } from './body-codec.js';
import { COMMAND_ENTRIES, entryByName, type Command, type CommandEntry, type FieldKind } from './commands.js';
import { ProtocolError } from './errors.js';
import { expectProtocolError } from '../test-support/expect-protocol-error.js';

/** Packs arbitrary values the way a buggy or hostile peer might. */
const plain = new Packr({ useRecords: false, moreTypes: false });
const exotic = new Packr({ useRecords: true, moreTypes: true, structuredClone: true } as ConstructorParameters<typeof Packr>[0]);

/** A valid value per kind, to fill the fields not under test. */
const VALID: Record<FieldKind, unknown> = {
  uint: 5,
  int: -1,
  string: 's',
  'string?': null,
  bytes: Buffer.from([1, 2]),
  bool: true,
  strings: ['a'],
  stringLists: [['a'], []],
  attr: 7,
};

/** Values a field of each kind must refuse. */
const WRONG: Record<FieldKind, readonly [label: string, value: unknown][]> = {
  uint: [
    ['a string', '1'],
    ['a negative offset', -1],
    ['a float', 1.5],
    ['2^53', 2 ** 53],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a uint64 (BigInt)', 5n],
    ['null', null],
    ['a boolean', true],
    ['bytes', Buffer.from([1])],
  ],
  int: [
    ['-2', -2],
    ['a float', -0.5],
    ['2^53', 2 ** 53],
    ['a string', '-1'],
    ['null', null],
  ],
  string: [
    ['null', null],
    ['a number', 1],
    ['bytes', Buffer.from('s')],
    ['an array', ['s']],
  ],
  'string?': [
    ['a number', 1],
    ['bytes', Buffer.from('s')],
    ['a boolean', false],
  ],
  bytes: [
    ['a string', 'bytes'],
    ['null', null],
    ['an array of numbers', [1, 2]],
    ['a number', 1],
  ],
  bool: [
    ['0', 0],
    ['1', 1],
    ['a string', 'true'],
    ['null', null],
  ],
  strings: [
    ['a string', 'a'],
    ['an array with a number', ['a', 1]],
    ['an array with null', ['a', null]],
    ['null', null],
  ],
  stringLists: [
    ['a list of strings', ['a']],
    ['a list with a number list', [['a'], [1]]],
    ['a list with null', [['a'], null]],
    ['null', null],
  ],
  attr: [
    ['a negative number', -1],
    ['a float', 1.5],
    ['2^53', 2 ** 53],
    ['a string', 'x'],
    ['a boolean', true],
    ['a map', { a: 1 }],
    ['an array', [1]],
  ],
};

function validValues(entry: CommandEntry): unknown[] {
  return entry.fieldKinds.map((kind) => VALID[kind]);
}

describe('decodeBody', () => {
  it('decodes a body of valid values for every command', () => {
    for (const entry of COMMAND_ENTRIES) {
      const command = decodeBody(entry.code, plain.pack(validValues(entry)));
      expect(command.type).toBe(entry.name);
      expect(Object.keys(command)).toEqual(['type', ...entry.fieldNames]);
    }
  });

  it('refuses an unknown type code (UNKNOWN_COMMAND)', () => {
    const known = new Set(COMMAND_ENTRIES.map((entry) => entry.code));
    for (const code of [0, 0x09, 0x5f, 0x69, 0xffff]) {
      expect(known.has(code)).toBe(false);
      const error = expectProtocolError(() => decodeBody(code, plain.pack([])), 'UNKNOWN_COMMAND');
      expect(error.message).toContain(code.toString(16));
    }
  });

  it('refuses every truncation of a valid body (MALFORMED_BODY)', () => {
    const entry = entryByName('SegmentInfo');
    const body = encodeBody({ type: 'SegmentInfo', segment: 'shop/orders/0', startOffset: 2 ** 40, length: 2 ** 53 - 1, sealed: true });
    for (let length = 0; length < body.byteLength; length++) {
      expectProtocolError(() => decodeBody(entry.code, body.subarray(0, length)), 'MALFORMED_BODY');
    }
  });

  it('refuses trailing bytes after the body (MALFORMED_BODY)', () => {
    const body = encodeBody({ type: 'SegmentCreated', segment: 's' });
    expectProtocolError(() => decodeBody(entryByName('SegmentCreated').code, Buffer.concat([body, Buffer.from([0])])), 'MALFORMED_BODY');
  });

  it.each([
    ['an empty body', []],
    ['the never-used byte 0xc1', [0xc1]],
    ['an unknown extension type', [0x91, 0xd4, 0x05, 0x00]],
    ['an array claiming 2^32-1 elements', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['a map claiming 2^32-1 entries', [0xdf, 0xff, 0xff, 0xff, 0xff]],
    ['a string claiming 4 GB', [0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ['bytes claiming 4 GB', [0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x61]],
  ])('refuses %s (MALFORMED_BODY)', (_label, bytes) => {
    expectProtocolError(() => decodeBody(entryByName('SegmentCreated').code, Buffer.from(bytes)), 'MALFORMED_BODY');
  });

  it('refuses nesting deep enough to overflow the stack (MALFORMED_BODY)', () => {
    expectProtocolError(() => decodeBody(entryByName('SegmentCreated').code, Buffer.alloc(200_000, 0x91)), 'MALFORMED_BODY');
  });

  it.each([
    ['a map instead of an array', { segment: 's' }],
    ['a bare string', 's'],
    ['nil', null],
    ['too few fields', []],
    ['too many fields', ['s', 's']],
  ])('refuses %s (MALFORMED_BODY)', (_label, value) => {
    const error = expectProtocolError(() => decodeBody(entryByName('SegmentCreated').code, plain.pack(value)), 'MALFORMED_BODY');
    expect(error.message).toContain('SegmentCreated');
  });

  it('refuses a wrong field count for every command (MALFORMED_BODY)', () => {
    for (const entry of COMMAND_ENTRIES) {
      const values = validValues(entry);
      expectProtocolError(() => decodeBody(entry.code, plain.pack([...values, null])), 'MALFORMED_BODY');
      if (values.length > 0) expectProtocolError(() => decodeBody(entry.code, plain.pack(values.slice(1))), 'MALFORMED_BODY');
    }
  });

  it('refuses a wrong value type in every field of every command, naming the field (MALFORMED_BODY)', () => {
    let checked = 0;
    for (const entry of COMMAND_ENTRIES) {
      entry.fieldKinds.forEach((kind, field) => {
        for (const [label, wrong] of WRONG[kind]) {
          const values = validValues(entry);
          values[field] = wrong;
          const error = expectProtocolError(() => decodeBody(entry.code, plain.pack(values)), 'MALFORMED_BODY');
          expect(error.message, `${entry.name}.${entry.fieldNames[field]} given ${label}`).toContain(
            `${entry.name}.${entry.fieldNames[field]}`,
          );
          checked += 1;
        }
      });
    }
    expect(checked).toBeGreaterThan(100);
  });

  it.each([
    ['a Set', new Set(['s'])],
    ['a Map', new Map([['s', 1]])],
    ['a Date', new Date(0)],
    ['an Error', new Error('s')],
    ['a RegExp', /s/g],
    ['a typed array', new Float64Array(2)],
    ['a record', { segment: 's' }],
  ])('refuses %s where a string belongs (MALFORMED_BODY)', (_label, value) => {
    expectProtocolError(() => decodeBody(entryByName('SegmentCreated').code, exotic.pack([value])), 'MALFORMED_BODY');
  });

  it('keeps no msgpack state between bodies: a record definition in one does not change the next', () => {
    const code = entryByName('DataAppended').code;
    expectProtocolError(() => decodeBody(code, exotic.pack([{ a: 1 }, null, 64, 65])), 'MALFORMED_BODY');
    // 0x40.. are record references once a record is defined; here they must stay plain integers.
    expect(decodeBody(code, plain.pack(['s', null, 64, 65]))).toEqual({
      type: 'DataAppended',
      segment: 's',
      writerId: null,
      lastEventNumber: 64,
      length: 65,
    });
  });

  it('returns bytes fields as Buffers viewing the body (no copy)', () => {
    const body = encodeBody({ type: 'SegmentRead', segment: 's', offset: 0, data: Buffer.from('payload'), length: 7, endOfSegment: false });
    const own = Buffer.alloc(body.byteLength);
    body.copy(own);
    const command = decodeBody(entryByName('SegmentRead').code, own);
    if (command.type !== 'SegmentRead') throw new Error(command.type);
    expect(Buffer.isBuffer(command.data)).toBe(true);
    expect(command.data.buffer).toBe(own.buffer);
    expect(command.data.toString()).toBe('payload');
  });

  it('accepts a plain Uint8Array body and still returns Buffers', () => {
    const body = encodeBody({ type: 'Attribute', segment: 's', key: 'k', value: Buffer.from([9]) });
    const command = decodeBody(entryByName('Attribute').code, new Uint8Array(body));
    if (command.type !== 'Attribute') throw new Error(command.type);
    expect(Buffer.isBuffer(command.value)).toBe(true);
    expect(command.value).toEqual(Buffer.from([9]));
  });
});

describe('decodeBody under random input (property)', () => {
  const anyCode = fc.oneof(fc.constantFrom(...COMMAND_ENTRIES.map((entry) => entry.code)), fc.integer({ min: 0, max: 0xffff }));

  /** Only a ProtocolError may escape; what does decode must survive a re-encode unchanged. */
  function decodeOrRefuse(code: number, body: Uint8Array): void {
    let command: Command;
    try {
      command = decodeBody(code, body);
    } catch (error) {
      if (error instanceof ProtocolError) return;
      throw error;
    }
    expect(decodeBody(code, encodeBody(command))).toEqual(command);
  }

  it('random bytes', () => {
    fc.assert(
      fc.property(anyCode, fc.uint8Array({ maxLength: 300 }), (code, body) => decodeOrRefuse(code, body)),
      { numRuns: 1500 },
    );
  });

  it('random msgpack arrays of the right length, with any values', () => {
    const entryArb = fc.constantFrom(...COMMAND_ENTRIES);
    fc.assert(
      fc.property(
        entryArb.chain((entry) =>
          fc.tuple(fc.constant(entry), fc.array(fc.anything({ withBigInt: true, withTypedArray: true, withDate: true, withMap: true, withSet: true }), {
            minLength: entry.fieldNames.length,
            maxLength: entry.fieldNames.length,
          })),
        ),
        fc.boolean(),
        ([entry, values], useExotic) => {
          let body: Buffer;
          try {
            body = (useExotic ? exotic : plain).pack(values);
          } catch {
            return; // a value msgpackr cannot pack is not an input a peer could send
          }
          decodeOrRefuse(entry.code, body);
        },
      ),
      { numRuns: 800 },
    );
  });
});
