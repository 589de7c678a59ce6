import { describe, expect, it } from 'vitest';

import { parseDuration, parseRights, streamOfSegment } from './index.js';

describe('parseRights', () => {
  it.each([
    ['r', ['read']],
    ['w', ['write']],
    ['a', ['admin']],
    ['rw', ['read', 'write']],
    ['wr', ['read', 'write']],
    ['rwa', ['read', 'write', 'admin']],
    ['RW', ['read', 'write']],
    ['rr', ['read']],
    ['read', ['read']],
    ['admin', ['admin']],
    ['read,write', ['read', 'write']],
    [' read , admin ', ['read', 'admin']],
    ['Write,READ', ['read', 'write']],
  ])('%j -> %j', (text, rights) => {
    expect(parseRights(text)).toEqual(rights);
  });

  it('rejects with a message naming the bad letter or word', () => {
    expect(() => parseRights('')).toThrow(/empty/);
    expect(() => parseRights('   ')).toThrow(/empty/);
    expect(() => parseRights('rx')).toThrow(/unknown right letter "x" in "rx"/);
    expect(() => parseRights('reed')).toThrow(/unknown right letter "e" in "reed"/);
    expect(() => parseRights('read,wirte')).toThrow(/unknown right "wirte" in "read,wirte"/);
    expect(() => parseRights('read,')).toThrow(/unknown right "" in "read,"/);
    expect(() => parseRights('r w')).toThrow(/unknown right letter " "/);
    expect(() => parseRights('x'.repeat(10_000))).toThrow(/^.{0,300}$/s);
  });
});

describe('parseDuration', () => {
  it.each([
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['90s', 90_000],
    ['7d', 604_800_000],
    ['1500ms', 1500],
    ['1500', 1500],
    ['0', 0],
    [' 10s ', 10_000],
    ['10 s', 10_000],
    ['1.5h', 5_400_000],
    ['2H', 7_200_000],
  ])('%j -> %d', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'h', '10x', '-5s', '+5s', '1e3', '10hours', '1h30m', '.5h', '5.h', 'NaN', 'Infinity', '0x10'])(
    'rejects %j with a clear message',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/invalid duration .*use a number with a unit ms, s, m, h or d/);
    },
  );

  it('rejects a duration too long to be exact', () => {
    expect(() => parseDuration('99999999999999999999d')).toThrow(/too long/);
  });
});

describe('streamOfSegment', () => {
  it('drops the last part of the segment name', () => {
    expect(streamOfSegment('shop/orders/3')).toBe('shop/orders');
    expect(streamOfSegment('shop/orders/#meta')).toBe('shop/orders');
    expect(streamOfSegment('shop/orders/12')).toBe('shop/orders');
  });
});
