import { afterEach, describe, expect, it } from 'vitest';

import { openContainer, recordingLogger, TempDirs, testOptions } from '../../test-support/store.js';
import type { SegmentContainer } from '../store/container.js';
import { ReplicationNode } from './replication-node.js';

const SELF = '127.0.0.1:1';
const REPLICAS = ['127.0.0.1:2', SELF, '127.0.0.1:3'];

const dirs = new TempDirs();
let node: ReplicationNode | null = null;
let container: SegmentContainer | null = null;
afterEach(async () => {
  await container?.close();
  await node?.close();
  await dirs.cleanup();
});

describe('ReplicationNode', () => {
  it('sends a snapshot only to a node its assignment lists as a replica of the container: the requests carry its token', async () => {
    node = new ReplicationNode({
      self: SELF,
      replicationFactor: 3,
      ackTimeoutMs: 400,
      requestTimeoutMs: 400,
      sync: false,
      logger: recordingLogger(),
      reopen: async () => undefined,
      token: () => 'this node may do anything',
    });
    container = await openContainer(testOptions(await dirs.make(), { replication: node }));
    node.setRole({ container: 0, role: 'none', epoch: 1, primary: REPLICAS[0]!, replicas: REPLICAS });
    const ask = (to: string): unknown => node!.serve({ type: 'SendSnapshot', container: 0, epoch: 1, fileNumber: 1, position: 0, to, token: null });
    expect(await ask('10.9.9.9:9090')).toMatchObject({ type: 'SnapshotReceived', status: 'not-ready' });
    expect(await ask(SELF)).toMatchObject({ status: 'not-ready' });
    // A replica passes; its log ends where this one still has the records after it: FetchLog will do.
    expect(await ask(REPLICAS[2]!)).toMatchObject({ status: 'not-needed' });
  });
});
