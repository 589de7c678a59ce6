import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { setHeapGrowth } from './heap-growth.js';

describe('setHeapGrowth', () => {
  it('lets the old generation grow to 4x what the last mark-compact kept', () => {
    const flags: string[] = [];
    setHeapGrowth((flag) => flags.push(flag));
    expect(flags).toEqual(['--heap-growing-percent=300']);
  });

  it('sets a flag this V8 has (an unknown one would be ignored without a word)', () => {
    const flags: string[] = [];
    setHeapGrowth((flag) => flags.push(flag));
    const name = flags[0]!.split('=')[0]!;
    expect(execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' })).toContain(`  ${name} (`);
  });
});
