import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

import { describe, expect, it } from 'vitest';

import { unlessMissing } from './unless-missing.js';

describe('unlessMissing', () => {
  it('gives the result, null for a missing file, and every other error as it is', async () => {
    expect(await unlessMissing(Promise.resolve('read'))).toBe('read');
    expect(await unlessMissing(readFile(join(tmpdir(), 'sluice-no-such-file-here')))).toBeNull();
    // A directory read as a file: EISDIR must surface, not read as "missing".
    await expect(unlessMissing(readFile(tmpdir()))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
