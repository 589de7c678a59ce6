import type { CommandOf } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { ClientClosedError, ConnectFailedError, ConnectionLostError } from '../errors.js';
import type { SluiceClient } from '../sluice-client.js';
import { infoRequest, useFakeServer } from '../../test-support/fake-server-fixture.js';
import { segmentInfoFor, type FakeConnection } from '../../test-support/fake-server.js';
import type { Flow } from './flow.js';

type Info = CommandOf<'SegmentInfo'>;

const fake = useFakeServer();

function openFlow(target: SluiceClient, pooled = true): Flow {
  return target.context.openFlow(fake.server.endpoint, { pooled });
}

/** The fake server connection a flow's requests arrive on. */
function connectionOf(flow: Flow): FakeConnection {
  const found = fake.server.connections.find((connection) => connection.requests.some((request) => request.flowId === flow.flowId));
  if (!found) throw new Error(`no connection carried flow ${flow.flowId}`);
  return found;
}

describe('connection pool and flows', () => {
  it('max=1: two flows share one socket, each reply reaches its own flow, closing one keeps the socket', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 1 });
    const a = openFlow(sdk);
    const b = openFlow(sdk);
    const [replyA, replyB] = await Promise.all([a.request(infoRequest('s/a/0')), b.request(infoRequest('s/b/0'))]);
    expect([replyA.segment, replyB.segment]).toEqual(['s/a/0', 's/b/0']);
    expect(fake.server.openConnections).toHaveLength(1);
    a.close();
    await expect(a.request(infoRequest('s/a/0'))).rejects.toBeInstanceOf(ClientClosedError);
    expect((await b.request(infoRequest('s/b/1'))).segment).toBe('s/b/1');
    expect(fake.server.openConnections).toHaveLength(1);
  });

  it('a pooled flow and a non-pooled flow use two sockets, and the dedicated one is never shared', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 4 });
    const dedicated = openFlow(sdk, false);
    const pooled = openFlow(sdk);
    await dedicated.request(infoRequest('s/d/0'));
    await pooled.request(infoRequest('s/p/0'));
    expect(fake.server.openConnections).toHaveLength(2);
    const morePooled = [openFlow(sdk), openFlow(sdk), openFlow(sdk)];
    await Promise.all(morePooled.map((flow) => flow.request(infoRequest('s/p/1'))));
    const dedicatedSocket = connectionOf(dedicated);
    for (const flow of [pooled, ...morePooled]) expect(connectionOf(flow)).not.toBe(dedicatedSocket);
    expect(sdk.stats().endpoints[fake.server.endpoint]).toMatchObject({ dedicatedConnections: 1 });
  });

  it('max=2 balances flows A, B, A, B, and outstanding bytes steer a new flow away from a busy socket', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 2 });
    const flows = [openFlow(sdk), openFlow(sdk), openFlow(sdk), openFlow(sdk)];
    for (const flow of flows) await flow.request(infoRequest('s/x/0'));
    const sockets = flows.map(connectionOf);
    expect(sockets[0]).not.toBe(sockets[1]);
    expect(sockets[2]).toBe(sockets[0]);
    expect(sockets[3]).toBe(sockets[1]);

    // Hold every request of flows[1] (socket B): B now has outstanding bytes, A has none.
    fake.server.handler = (request, connection) => {
      if (request.flowId !== flows[1]!.flowId) connection.reply(request, segmentInfoFor(request.command));
    };
    const held = flows[1]!.request(infoRequest('s/held/0'), { timeoutMs: 500 }).catch(() => 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fifth = openFlow(sdk);
    await fifth.request(infoRequest('s/x/1'));
    expect(connectionOf(fifth)).toBe(sockets[0]);
    expect(await held).toBe('timed out');
  });

  it('routes replies of many concurrent flows on one socket even when the server shuffles them', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 1 });
    const backlog: Array<() => void> = [];
    fake.server.handler = (request, connection) => {
      backlog.push(() => connection.reply(request, segmentInfoFor(request.command)));
      if (backlog.length === 200) {
        for (let i = backlog.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          [backlog[i], backlog[j]] = [backlog[j]!, backlog[i]!];
        }
        for (const send of backlog.splice(0)) send();
      }
    };
    const flows = Array.from({ length: 20 }, () => openFlow(sdk));
    const replies = await Promise.all(
      flows.flatMap((flow, f) => Array.from({ length: 10 }, (_, r) => flow.request(infoRequest(`s/f${f}/${r}`)))),
    );
    expect(replies.map((reply) => reply.segment)).toEqual(
      flows.flatMap((_, f) => Array.from({ length: 10 }, (_, r) => `s/f${f}/${r}`)),
    );
    expect(fake.server.openConnections).toHaveLength(1);
  });

  it('drops and counts replies for an unknown flow or an unknown sequence without failing anything', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 1 });
    const flow = openFlow(sdk);
    await flow.request(infoRequest('s/a/0'));
    const [socket] = fake.server.openConnections;
    socket!.reply({ flowId: 777_777, sequence: 1, command: { type: 'KeepAlive' } }, segmentInfoFor(infoRequest('x/y/0')));
    socket!.reply({ flowId: flow.flowId, sequence: 999, command: { type: 'KeepAlive' } }, segmentInfoFor(infoRequest('x/y/0')));
    expect((await flow.request(infoRequest('s/a/1'))).segment).toBe('s/a/1');
    expect(sdk.stats().endpoints[fake.server.endpoint]).toMatchObject({ droppedUnknownFlow: 1, droppedUnknownSequence: 1 });
  });

  it('keeps the reason a node gives before closing a connection, for the flows that were on it', async () => {
    const sdk = fake.client();
    const flow = openFlow(sdk);
    await flow.request(infoRequest('s/a/0'));
    fake.server.handler = (request, connection) => {
      const message = 'frame of 20000000 bytes exceeds the maximum frame size 16777216';
      connection.reply({ flowId: 0, sequence: 0, command: request.command }, { type: 'ErrorMessage', code: 'FRAME_TOO_LARGE', message });
      connection.socket.end();
    };
    const error = await flow.request(infoRequest('s/a/1')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).message).toContain('FRAME_TOO_LARGE: frame of 20000000 bytes');
  });

  it('a dropped socket tells each of its flows and rejects their requests as retriable; other sockets carry on', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 2 });
    const [a, b] = [openFlow(sdk), openFlow(sdk)];
    await a.request(infoRequest('s/a/0'));
    await b.request(infoRequest('s/b/0'));
    const socketA = connectionOf(a);
    expect(connectionOf(b)).not.toBe(socketA);
    fake.server.handler = () => {};
    const lost: ConnectionLostError[] = [];
    a.onConnectionLost((error) => lost.push(error));
    const pendingA = a.request(infoRequest('s/a/1'));
    const pendingB = b.request(infoRequest('s/b/1'), { timeoutMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    socketA.socket.destroy();
    const error = await pendingA.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).retriable).toBe(true);
    expect(lost).toHaveLength(1);
    const [replyB] = fake.server.openConnections.filter((connection) => connection !== socketA);
    const heldRequest = replyB!.requests.at(-1)!;
    replyB!.reply(heldRequest, segmentInfoFor(heldRequest.command));
    expect(((await pendingB) as Info).segment).toBe('s/b/1');
    // The flow whose socket dropped recovers on its own on its next request.
    fake.server.handler = (request, connection) => connection.reply(request, segmentInfoFor(request.command));
    expect((await a.request(infoRequest('s/a/2'))).segment).toBe('s/a/2');
    expect(a.generation).toBe(2);
  });

  it('many dedicated flows waiting on a node that went down pace their attempts without piling listeners on a signal', async () => {
    const sdk = fake.client({ connectTimeoutMs: 1_000, maxDedicatedConnectionsPerEndpoint: 64 });
    const endpoint = fake.server.endpoint;
    await sdk.context.openFlow(endpoint, { pooled: false }).request(infoRequest('s/a/0'));
    await fake.server.close();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const flows = Array.from({ length: 30 }, () => sdk.context.openFlow(endpoint, { pooled: false }));
      const errors = await Promise.all(flows.map((flow) => flow.request(infoRequest('s/b/0')).catch((error: unknown) => error)));
      for (const error of errors) expect(error).toBeInstanceOf(ConnectFailedError);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
