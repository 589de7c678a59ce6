import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CommandOf, ReplicationRequestName } from '@sluice/protocol';
import { afterEach, describe, expect, it } from 'vitest';

import { TempDirs } from '../../test-support/store.js';
import { EpochHistory } from '../store/epoch-history.js';
import { settleSnapshotInstall } from '../store/snapshot-install.js';
import type { PeerLink, PeerRequest, ReplicationReplies } from './peer-link.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { sendSnapshot } from './snapshot-sender.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function chunk(snapshot: number, part: string, fileNumber: number, position: number, data: string): CommandOf<'InstallSnapshot'> {
  return { type: 'InstallSnapshot', container: 0, epoch: 3, snapshot, part, fileNumber, position, token: null, data: Buffer.from(data) };
}

async function contents(directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(directory)).sort()) files[name] = await readFile(join(directory, name), 'utf8');
  return files;
}

describe('a backup receiving a snapshot', () => {
  it('takes the checkpoint, then log files in order, each from byte 0; refuses a chunk that does not follow', async () => {
    const directory = join(await dirs.make(), '0');
    await mkdir(directory);
    const receiver = new SnapshotReceiver(directory, false);
    expect(await receiver.receive(chunk(1, 'log', 4, 10, 'x'), 3)).toBe('out-of-order'); // not a beginning
    expect(await receiver.receive(chunk(1, 'checkpoint', 0, 0, 'cp'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(1, 'log', 4, 0, 'four'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(1, 'log', 4, 2, 'XX'), 3)).toBe('out-of-order'); // not where file 4 ends
    expect(await receiver.receive(chunk(1, 'log', 6, 0, 'six'), 3)).toBe('out-of-order'); // file 5 skipped
    expect(await receiver.receive(chunk(1, 'checkpoint', 0, 0, 'cp'), 3)).toBe('out-of-order'); // after a log file
    expect(await receiver.receive(chunk(1, 'log', 4, 4, '+more'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(1, 'log', 5, 0, 'five'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(1, 'install', 5, 3, '[]'), 3)).toBe('out-of-order'); // file 5 is 4 bytes
    expect(await receiver.receive(chunk(1, 'install', 5, 4, '[[2,4,0],[3,5,2]]'), 7)).toBe('installed');

    expect(await settleSnapshotInstall(directory, false)).toBe(true);
    const history = await EpochHistory.load(directory, false);
    expect(history.fencedEpoch).toBe(7);
    expect(history.entries.map(({ epoch }) => epoch)).toEqual([2, 3]);
    const { epochs: _epochs, ...files } = await contents(directory);
    expect(files).toEqual({ checkpoint: 'cp', 'log-0000000004.log': 'four+more', 'log-0000000005.log': 'five' });
  });

  it('starts over when a new snapshot begins (the primary retried): what the last one left is dropped', async () => {
    const directory = join(await dirs.make(), '0');
    await mkdir(directory);
    const receiver = new SnapshotReceiver(directory, false);
    expect(await receiver.receive(chunk(1, 'log', 4, 0, 'four'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(2, 'log', 6, 0, 'six'), 3)).toBe('ok');
    expect(await receiver.receive(chunk(2, 'install', 6, 3, '[]'), 3)).toBe('installed');
    await settleSnapshotInstall(directory, false);
    const { epochs: _epochs, ...files } = await contents(directory);
    expect(files).toEqual({ 'log-0000000006.log': 'six' });
  });
});

describe('a primary sending a snapshot', () => {
  it('sends its checkpoint and log files up to its durable end, in chunks, and the epochs that start by then; a file retired meanwhile is sent whole', async () => {
    const source = join(await dirs.make(), '0');
    await mkdir(source);
    await writeFile(join(source, 'checkpoint'), 'c'.repeat(250));
    await writeFile(join(source, 'log-0000000003.log'), 'three'.repeat(50));
    await writeFile(join(source, 'log-0000000004.log'), 'four'.repeat(30)); // durable up to 100 bytes
    const history = await EpochHistory.create(source, false, 2, [
      { epoch: 1, start: { fileNumber: 3, position: 0 } },
      { epoch: 2, start: { fileNumber: 4, position: 200 } }, // past the end sent: not taken
    ]);
    const target = join(await dirs.make(), '0');
    await mkdir(target);
    const receiver = new SnapshotReceiver(target, false);
    const sizes: number[] = [];
    const link: PeerLink = {
      node: 'backup',
      request: async <N extends ReplicationRequestName>(command: PeerRequest<N>) => {
        const request = { ...command, token: null } as unknown as CommandOf<'InstallSnapshot'>;
        // The checkpointer retires file 3 while the snapshot is sent: what was pinned is sent whole.
        if (sizes.length === 0) await rm(join(source, 'log-0000000003.log'));
        sizes.push(request.data.byteLength);
        const outcome = await receiver.receive(request, request.epoch);
        const reply: CommandOf<'SnapshotReceived'> = { type: 'SnapshotReceived', container: 0, status: outcome === 'installed' ? 'ok' : outcome, epoch: 2 };
        return reply as unknown as ReplicationReplies[N];
      },
      close: () => undefined,
    };
    const end = { fileNumber: 4, position: 100 };
    const sent = await sendSnapshot(link, { container: 0, epoch: 2, directory: source, history, localDurableEnd: () => end }, () => true, 64);
    expect(sent).toEqual({ reply: expect.objectContaining({ status: 'ok' }), end });
    expect(Math.max(...sizes)).toBe(64);
    expect(await readdir(`${source}.sending`)).toEqual([]); // the pinned files are gone with the snapshot

    await settleSnapshotInstall(target, false);
    const { epochs: _epochs, ...files } = await contents(target);
    expect(files).toEqual({ checkpoint: 'c'.repeat(250), 'log-0000000003.log': 'three'.repeat(50), 'log-0000000004.log': 'four'.repeat(25) });
    expect((await EpochHistory.load(target, false)).entries).toEqual([{ epoch: 1, start: { fileNumber: 3, position: 0 } }]);
  });
});
