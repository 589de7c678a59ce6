import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readSecretFile } from './index.js';

describe('readSecretFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-secret-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and trims the secret', async () => {
    const path = join(dir, 'good');
    await writeFile(path, '  0123456789abcdef0123\n');
    await expect(readSecretFile(path)).resolves.toBe('0123456789abcdef0123');
  });

  it('names a missing file', async () => {
    const path = join(dir, 'missing');
    await expect(readSecretFile(path)).rejects.toThrow(`cannot read auth secret file ${JSON.stringify(path)}: it does not exist`);
  });

  it('names a directory', async () => {
    await expect(readSecretFile(dir)).rejects.toThrow(/it is a directory/);
  });

  it('refuses an empty file', async () => {
    const path = join(dir, 'empty');
    await writeFile(path, ' \n\t\n');
    await expect(readSecretFile(path)).rejects.toThrow(/is empty/);
  });

  it('refuses a short secret without showing it', async () => {
    const path = join(dir, 'short');
    await writeFile(path, 'hunter2\n');
    const error = await readSecretFile(path).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/is 7 bytes; it must be at least 16/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')('names an unreadable file', async () => {
    const path = join(dir, 'unreadable');
    await writeFile(path, '0123456789abcdef0123');
    await chmod(path, 0o000);
    await expect(readSecretFile(path)).rejects.toThrow(/permission denied/);
  });
});
