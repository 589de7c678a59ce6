import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceClient } from '@sluice/client';
import { startCluster, type ClusterProcesses } from './helpers/server-process.js';

describe('writer and reader on a cluster of 3 nodes', () => {
  let cluster: ClusterProcesses;

  beforeAll(async () => {
    cluster = await startCluster(3);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('routes each segment to its owner from one seed endpoint, and reads every segment back in key order', async () => {
    const client = new SluiceClient({ endpoints: [cluster.members[0]!], maxConnectionsPerEndpoint: 1 });
    const stream = 'e2e/cluster';
    await client.createStream(stream, { segments: 12 });
    const writer = client.createWriter(stream);
    const keys = 40;
    const perKey = 50;
    const writes: Promise<void>[] = [];
    for (let seq = 0; seq < perKey; seq++) {
      for (let key = 0; key < keys; key++) writes.push(writer.write(`key-${key}`, `${key}:${seq}`));
    }
    await Promise.all(writes);
    // Segment writers went to the nodes that own their segments, each over one shared connection.
    const endpoints = client.stats().endpoints;
    const used = cluster.members.filter((member) => (endpoints[member]?.connections ?? 0) > 0);
    expect(used.length).toBeGreaterThanOrEqual(2);
    for (const member of used) expect(endpoints[member]!.connections).toBe(1);

    const reader = client.createReader(stream);
    const next = new Array<number>(keys).fill(0);
    let count = 0;
    for await (const event of reader) {
      const [key, seq] = event.data.toString().split(':').map(Number) as [number, number];
      expect(seq).toBe(next[key]);
      next[key] = seq + 1;
      if (++count === keys * perKey) break;
    }
    expect(next).toEqual(new Array<number>(keys).fill(perKey));
    await client.close();
  });
});
