/**
 * Node-to-node links under --auth-secret, with real processes (etcd and three coordinated nodes,
 * RF 3): the nodes authenticate to each other with a token they mint from the shared secret, so a
 * replicated cluster with auth on acknowledges writes (each needs a backup's ack) and reads them
 * back; a client without a token, or with a token for less than the whole cluster, cannot issue
 * replication requests (fence a replica, write into its log, read its log).
 */
import { SluiceClient } from '@sluice/client';
import { mintToken } from '@sluice/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { evenlySpreadOver, startCoordinatedCluster, waitForMap, type CoordinatedCluster } from './helpers/coordinated-cluster.js';
import { etcdAvailable } from './helpers/etcd-process.js';
import { RawClient } from './helpers/raw-client.js';

const SECRET = 'replication-auth-test-secret-0123456789';
const EVENTS = 40;
const describeEtcd = etcdAvailable() ? describe : describe.skip;

describeEtcd('replication links under --auth-secret', () => {
  let cluster: CoordinatedCluster;

  beforeAll(async () => {
    cluster = await startCoordinatedCluster(3, { args: ['--auth-secret', SECRET], containers: 4 });
    await waitForMap(cluster.nodes[0]!, evenlySpreadOver(cluster.endpoints), 30_000, 'an even spread over 3 nodes');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('acknowledges writes (a backup must have each) and reads them back', { timeout: 60_000 }, async () => {
    const token = mintToken(SECRET, { streams: ['secured/*'], rights: ['read', 'write', 'admin'] });
    const client = new SluiceClient({ endpoints: cluster.endpoints, token, requestTimeoutMs: 20_000 });
    try {
      await client.createStream('secured/orders', { segments: 4 });
      const writer = client.createWriter('secured/orders');
      await Promise.all(Array.from({ length: EVENTS }, (_, i) => writer.write(`key-${i % 8}`, `event-${i}`)));
      await writer.close();
      const reader = client.createReader('secured/orders');
      const read: string[] = [];
      for await (const event of reader) {
        read.push(event.data.toString());
        if (read.length === EVENTS) break;
      }
      await reader.close();
      expect(read.sort()).toEqual(Array.from({ length: EVENTS }, (_, i) => `event-${i}`).sort());
    } finally {
      await client.close();
    }
  });

  it('refuses replication requests without a token, or with one for less than every stream', { timeout: 30_000 }, async () => {
    const raw = await RawClient.connect(cluster.endpoints[0]!);
    try {
      await raw.hello();
      const streamToken = mintToken(SECRET, { streams: ['secured/*'], rights: ['read', 'write', 'admin'] });
      const readOnly = mintToken(SECRET, { streams: ['*'], rights: ['read'] });
      const requests = (token: string | null) => [
        { type: 'FenceReplica', container: 0, epoch: 1_000_000, token },
        { type: 'Replicate', container: 0, epoch: 1_000_000, dataEpoch: 1_000_000, fileNumber: 0, position: 0, committedFileNumber: 0, committedPosition: 0, token, data: Buffer.alloc(0) },
        { type: 'GetEpochEnd', container: 0, epoch: 1, token },
        { type: 'FetchLog', container: 0, epoch: 1, fileNumber: 0, position: 0, maxBytes: 1024, token },
        { type: 'InstallSnapshot', container: 0, epoch: 1_000_000, snapshot: 1, part: 'install', fileNumber: 1, position: 0, token, data: Buffer.from('[]') },
        { type: 'SendSnapshot', container: 0, epoch: 1_000_000, fileNumber: 1, position: 0, to: '127.0.0.1:1', token },
      ] as const;
      for (const token of [null, streamToken, readOnly]) {
        for (const request of requests(token)) {
          const reply = await raw.call(request);
          expect(reply.type, `${request.type} with ${token === null ? 'no token' : 'a partial token'}`).toBe('AuthTokenCheckFailed');
        }
      }
      // With a token for the whole cluster, a peer's request is served (here: where epoch 1 ends).
      const nodeToken = mintToken(SECRET, { streams: ['*'], rights: ['read', 'write', 'admin'] });
      expect((await raw.call({ type: 'GetEpochEnd', container: 0, epoch: 1, token: nodeToken })).type).toBe('EpochEnd');
    } finally {
      raw.close();
    }
    // Nothing was fenced: the cluster still acknowledges writes on every container.
    const client = new SluiceClient({ endpoints: cluster.endpoints, token: mintToken(SECRET, { streams: ['*'], rights: ['read', 'write', 'admin'] }) });
    try {
      await client.createStream('secured/after', { segments: 4 });
      const writer = client.createWriter('secured/after');
      await Promise.all(Array.from({ length: 8 }, (_, i) => writer.write(`key-${i}`, `after-${i}`)));
      await writer.close();
    } finally {
      await client.close();
    }
  });
});
