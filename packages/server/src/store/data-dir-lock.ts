import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * One node per data dir. Two nodes appending to the same container logs interleave records that
 * neither can recover, so a store takes `<dataDir>/LOCK` (created exclusively, holding the owner's
 * pid and host) before it opens anything. Node has no flock(2); a pid file is what PostgreSQL's
 * postmaster.pid does: a lock left by a crashed node names a pid that is gone (or this very
 * process, as after a container restart where the node is pid 1 again) and is taken over.
 */
export const LOCK_FILE = 'LOCK';

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';

  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on host ${owner.host}`;
    super(
      `data dir ${dataDir} is in use by another sluice-server (${where}, since ${owner.since}); ` +
        `give this node its own --data-dir, or stop that one. If no node uses it, remove ${join(dataDir, LOCK_FILE)}`,
    );
    this.name = 'DataDirInUseError';
  }
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
  /** Tells this holder's file from a takeover's, so release never removes someone else's lock. */
  nonce: string;
}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomUUID() };
  // Two rounds: the second follows the removal of a stale lock; losing that race to another node
  // shows up as its live lock.
  for (let round = 0; round < 2; round += 1) {
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(`${JSON.stringify(owner)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      return { release: () => releaseIfOurs(path, owner.nonce) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readOwner(path);
    if (holder !== null && isLive(holder)) throw new DataDirInUseError(dir, holder);
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const holder = await readOwner(path);
  throw new DataDirInUseError(dir, holder ?? { pid: 0, host: 'unknown', since: 'unknown', nonce: '' });
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, since: String(parsed.since), nonce: String(parsed.nonce) };
  } catch {
    // Missing, or a torn write by a node that crashed while locking: nobody holds it.
    return null;
  }
}

/** A pid on another host cannot be checked: its lock counts as live (a shared disk must not be shared by two nodes). */
function isLive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseIfOurs(path: string, nonce: string): Promise<void> {
  const holder = await readOwner(path);
  if (holder?.nonce === nonce) await unlink(path).catch(() => undefined);
}
