/**
 * Replication changed its commands in protocol version 3 (Replicate carries the primary's commit
 * point; SendSnapshot came), and nothing a client sends changed: a node still serves a version-2
 * client, and answers a replication request on a connection negotiated at version 2 with
 * UNSUPPORTED_VERSION, by name, without decoding a body sent in another shape, while the
 * connection's other requests go on being served (docs/decisions.md, "Replication and the protocol
 * version").
 */
import { PROTOCOL_VERSION, type Command } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, expectReply } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.stop();
});

const REPLICATION: readonly Command[] = [
  { type: 'Replicate', container: 0, epoch: 1, dataEpoch: 1, fileNumber: 1, position: 0, committedFileNumber: 1, committedPosition: 0, token: null, data: Buffer.alloc(0) },
  { type: 'FenceReplica', container: 0, epoch: 1, token: null },
  { type: 'SendSnapshot', container: 0, epoch: 1, fileNumber: 1, position: 0, to: '127.0.0.1:1', token: null },
];

async function connectedAt(version: number): Promise<RawClient> {
  const raw = await RawClient.connect(server.address);
  const hello = expectReply(await raw.hello({ minVersion: 2, maxVersion: version }), 'Hello');
  expect(hello.maxVersion).toBe(PROTOCOL_VERSION);
  return raw;
}

describe('replication at protocol version 3', () => {
  it('a connection at version 2 is served as a client but its replication requests are refused by name, and it stays open', async () => {
    const raw = await connectedAt(2);
    try {
      for (const request of REPLICATION) {
        const reply = expectReply(await raw.call(request), 'ErrorMessage');
        expect(reply.code, request.type).toBe('UNSUPPORTED_VERSION');
        expect(reply.message).toContain(request.type);
        expect(reply.message).toContain('version 3');
        expect(reply.message).toContain('speaks 2');
      }
      expectReply(await raw.call({ type: 'CreateSegment', segment: 'v2/client/0', token: null }), 'SegmentCreated');
      expectReply(await raw.call({ type: 'GetSegmentInfo', segment: 'v2/client/0', token: null }), 'SegmentInfo');
      expectReply(await raw.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    } finally {
      raw.close();
    }
  });

  it('at version 3 the same requests pass the version check (this node is not replicated: it does not serve them)', async () => {
    const raw = await connectedAt(3);
    try {
      for (const request of REPLICATION) expectReply(await raw.call(request), 'OperationUnsupported');
    } finally {
      raw.close();
    }
  });
});
