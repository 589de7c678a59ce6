import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Revision, SegmentIsTruncatedError, SluiceClient, type RevisionedClient } from '@sluice/client';
import { startServer, type ServerProcess } from './helpers/server-process.js';

async function entries(client: RevisionedClient, from: Revision): Promise<Array<{ revision: Revision; text: string }>> {
  const result: Array<{ revision: Revision; text: string }> = [];
  for await (const { revision, data } of client.readFrom(from)) result.push({ revision, text: data.toString() });
  return result;
}

describe('revisioned client (real server)', () => {
  let server: ServerProcess;
  const clients: SluiceClient[] = [];
  const newClient = (): SluiceClient => {
    const client = new SluiceClient({ endpoints: [server.address] });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server.stop();
  });

  it('writes conditionally, reads after a revision up to the tail, and refuses a stale revision', async () => {
    const client = newClient();
    await client.createStream('rev/basic', { segments: 1 });
    const rev = client.createRevisionedClient('rev/basic');
    const start = await rev.fetchLatestRevision();
    expect(start.offset).toBe(0);
    const r1 = await rev.writeConditionally(start, 'one');
    expect(r1).not.toBeNull();
    expect(r1!.compareTo(start)).toBe(1);
    const r2 = await rev.writeConditionally(r1!, Buffer.from('two'));
    expect(r2!.equals(await rev.fetchLatestRevision())).toBe(true);
    expect(await rev.writeConditionally(r1!, 'stale')).toBeNull();
    expect(await entries(rev, start)).toEqual([
      { revision: r1, text: 'one' },
      { revision: r2, text: 'two' },
    ]);
    expect(await entries(rev, r1!)).toEqual([{ revision: r2, text: 'two' }]);
    expect(await entries(rev, r2!)).toEqual([]);
    expect(Revision.parse(r2!.toString()).equals(r2)).toBe(true);
    expect(JSON.parse(JSON.stringify({ r2 })).r2).toBe(r2!.toString());
  });

  it('two clients race on one revision: exactly one wins, every time', async () => {
    const [a, b] = [newClient(), newClient()];
    await a.createStream('rev/race', { segments: 1 });
    const revA = a.createRevisionedClient('rev/race');
    const revB = b.createRevisionedClient('rev/race');
    for (let round = 0; round < 20; round++) {
      const base = await revA.fetchLatestRevision();
      const results = await Promise.all([revA.writeConditionally(base, `a${round}`), revB.writeConditionally(base, `b${round}`)]);
      expect(results.filter((result) => result !== null)).toHaveLength(1);
    }
    expect(await entries(revA, await revA.fetchOldestRevision())).toHaveLength(20);
  });

  it('a compare-and-set counter incremented by 4 clients is exact', async () => {
    const owner = newClient();
    await owner.createStream('rev/counter', { segments: 1 });
    const increments = 25;
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const rev = newClient().createRevisionedClient('rev/counter');
        let revision = await rev.fetchOldestRevision();
        let value = 0;
        for (let done = 0; done < increments; ) {
          // Catch up with what the others wrote, then try to write value + 1 right after it.
          for await (const entry of rev.readFrom(revision)) {
            revision = entry.revision;
            value = Number(entry.data.toString());
          }
          const written = await rev.writeConditionally(revision, String(value + 1));
          if (written === null) {
            conflicts += 1;
            continue;
          }
          revision = written;
          value += 1;
          done += 1;
        }
      }),
    );
    const rev = owner.createRevisionedClient('rev/counter');
    const values = (await entries(rev, await rev.fetchOldestRevision())).map((entry) => Number(entry.text));
    expect(values).toEqual(Array.from({ length: 4 * increments }, (_, index) => index + 1));
    console.log('CAS counter: 100 increments from 4 clients,', conflicts, 'conflicts');
  });

  it('keeps a mark with compare-and-set, and truncates to a revision', async () => {
    const client = newClient();
    await client.createStream('rev/mark', { segments: 1 });
    const rev = client.createRevisionedClient('rev/mark');
    const r0 = await rev.fetchLatestRevision();
    const r1 = (await rev.writeConditionally(r0, 'a'))!;
    const r2 = (await rev.writeConditionally(r1, 'b'))!;
    expect(await rev.getMark()).toBeNull();
    expect(await rev.compareAndSetMark(null, r1)).toBe(true);
    expect(await rev.compareAndSetMark(null, r2)).toBe(false);
    expect(await rev.compareAndSetMark(r1, r2)).toBe(true);
    expect((await rev.getMark())!.equals(r2)).toBe(true);

    await rev.truncateToRevision(r1);
    expect((await rev.fetchOldestRevision()).equals(r1)).toBe(true);
    expect(await entries(rev, r1)).toEqual([{ revision: r2, text: 'b' }]);
    await expect(entries(rev, r0)).rejects.toBeInstanceOf(SegmentIsTruncatedError);
  });

  it('refuses a stream of more than one segment and a revision of another segment', async () => {
    const client = newClient();
    await client.createStream('rev/wide', { segments: 2 });
    await expect(client.createRevisionedClient('rev/wide').fetchLatestRevision()).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('segments: 1'),
    });
    await client.createStream('rev/narrow', { segments: 1 });
    const rev = client.createRevisionedClient('rev/narrow');
    await expect(rev.writeConditionally(new Revision('rev/other/0', 0), 'x')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
