/**
 * Nothing a peer sends can take a node down: protocol errors close that connection only (after an
 * ErrorMessage saying why), handshakes are checked, idle and slow peers are dropped.
 */
import { clusterFingerprint, encodeFrame, FRAME_HEADER_SIZE, LOCAL_VERSION_RANGE } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RawClient, expectReply } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

let server: ServerProcess;
/** A client that stays connected through every test: the node must keep serving it. */
let bystander: RawClient;

beforeAll(async () => {
  server = await startServer({ args: ['--hello-timeout', '400ms', '--frame-timeout', '400ms'] });
  bystander = await RawClient.connect(server.address);
  await bystander.hello();
});

afterAll(async () => {
  // The node is still alive and the bystander's connection still works.
  expectReply(await bystander.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
  expect(server.isRunning).toBe(true);
  bystander.close();
});

async function helloed(): Promise<RawClient> {
  const client = await RawClient.connect(server.address);
  await client.hello();
  return client;
}

function header(length: number, type: number, flowId: number, sequence: number): Buffer {
  const bytes = Buffer.alloc(FRAME_HEADER_SIZE);
  bytes.writeUInt32BE(length, 0);
  bytes.writeUInt16BE(type, 4);
  bytes.writeUInt32BE(flowId, 8);
  bytes.writeUInt32BE(sequence, 12);
  return bytes;
}

async function expectErrorAndClose(client: RawClient, code: string, requestId?: [number, number]): Promise<string> {
  const frame = await client.nextFrame(5_000);
  expect(frame, `expected an ErrorMessage ${code}`).not.toBeNull();
  const error = expectReply(frame!.command, 'ErrorMessage');
  expect(error.code).toBe(code);
  if (requestId) expect([frame!.flowId, frame!.sequence]).toEqual(requestId);
  expect(await client.closesWithin(3_000)).toBe(true);
  // ... and the node keeps serving everyone else.
  expectReply(await bystander.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
  return error.message;
}

describe('malformed frames', () => {
  it('an oversized length prefix: FRAME_TOO_LARGE, connection closed', async () => {
    const client = await helloed();
    client.sendRaw(header(0x7fff_fff0, 0x02, 1, 1));
    const message = await expectErrorAndClose(client, 'FRAME_TOO_LARGE', [0, 0]);
    expect(message).toContain('maximum frame size');
  });

  it('a length shorter than the header: FRAME_TOO_SHORT', async () => {
    const client = await helloed();
    client.sendRaw(header(3, 0x02, 1, 1));
    await expectErrorAndClose(client, 'FRAME_TOO_SHORT');
  });

  it('an unknown command type: UNKNOWN_COMMAND with the request id', async () => {
    const client = await helloed();
    client.sendRaw(Buffer.concat([header(12 + 1, 0x7777, 5, 9), Buffer.from([0x90])]));
    await expectErrorAndClose(client, 'UNKNOWN_COMMAND', [5, 9]);
  });

  it('a garbage body: MALFORMED_BODY with the request id', async () => {
    const client = await helloed();
    const garbage = Buffer.from([0xc1, 0xff, 0x00, 0x13]);
    client.sendRaw(Buffer.concat([header(12 + garbage.length, 0x10, 3, 77), garbage]));
    await expectErrorAndClose(client, 'MALFORMED_BODY', [3, 77]);
  });

  it('a body with the wrong field types: MALFORMED_BODY', async () => {
    const client = await helloed();
    const frame = encodeFrame(4, 1, { type: 'KeepAlive' });
    // Re-label a KeepAlive body (an empty array) as CreateSegment, which needs two fields.
    frame.writeUInt16BE(0x10, 4);
    client.sendRaw(frame);
    await expectErrorAndClose(client, 'MALFORMED_BODY', [4, 1]);
  });

  it('random bytes on many connections never take the node down', async () => {
    let seed = 42;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(server.address)));
    clients.forEach((client, index) => {
      if (index % 2 === 0) client.sendFrame(0, 0, { type: 'Hello', ...LOCAL_VERSION_RANGE, clusterFingerprint: null, node: null });
      const bytes = Buffer.alloc(64 + (random() % 4096));
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() & 0xff;
      client.sendRaw(bytes);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const client of clients) client.close();
    expectReply(await bystander.call({ type: 'KeepAlive' }, 0), 'KeepAlive');
    const fresh = await helloed();
    expectReply(await fresh.call({ type: 'GetClusterMap' }, 0), 'ClusterMap');
    fresh.close();
  });
});

describe('handshake', () => {
  it('refuses any command before Hello and closes', async () => {
    const client = await RawClient.connect(server.address);
    const reply = expectReply(await client.call({ type: 'GetClusterMap' }, 0), 'ErrorMessage');
    expect(reply.code).toBe('UNEXPECTED_COMMAND');
    expect(reply.message).toContain('Hello');
    expect(await client.closesWithin(3_000)).toBe(true);
  });

  it('refuses a protocol version outside its range, naming both ranges', async () => {
    const client = await RawClient.connect(server.address);
    const reply = expectReply(await client.hello({ minVersion: 7, maxVersion: 9 }), 'ErrorMessage');
    expect(reply.code).toBe('UNSUPPORTED_VERSION');
    expect(reply.message).toContain('7-9');
    expect(reply.message).toContain(`${LOCAL_VERSION_RANGE.minVersion}-${LOCAL_VERSION_RANGE.maxVersion}`);
    expect(await client.closesWithin(3_000)).toBe(true);
  });

  it('refuses a different cluster fingerprint, naming both', async () => {
    const client = await RawClient.connect(server.address);
    const theirs = clusterFingerprint({ members: ['10.0.0.1:9090', '10.0.0.2:9090'], containerCount: 16 });
    const ours = clusterFingerprint({ members: [server.address], containerCount: 16 });
    const reply = expectReply(await client.hello({ clusterFingerprint: theirs, node: '10.0.0.1:9090' }), 'ErrorMessage');
    expect(reply.code).toBe('CLUSTER_MISMATCH');
    expect(reply.message).toContain(theirs);
    expect(reply.message).toContain(ours);
    expect(await client.closesWithin(3_000)).toBe(true);
  });

  it('closes a connection that sends no Hello in time', async () => {
    const client = await RawClient.connect(server.address);
    const started = Date.now();
    const frame = await client.nextFrame(5_000);
    expect(expectReply(frame!.command, 'ErrorMessage').code).toBe('HELLO_TIMEOUT');
    expect(await client.closesWithin(3_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('closes a connection whose frame does not complete in time (slow loris)', async () => {
    const client = await helloed();
    const frame = encodeFrame(1, 1, { type: 'CreateSegment', segment: 'slow/loris/0', token: null });
    client.sendRaw(frame.subarray(0, 10));
    await expectErrorAndClose(client, 'FRAME_TIMEOUT');
  });

  it('does not time out a frame that arrives in pieces within the limit', async () => {
    const client = await helloed();
    const frame = encodeFrame(0, 1, { type: 'KeepAlive' });
    client.sendRaw(frame.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.sendRaw(frame.subarray(5, 12));
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.sendRaw(frame.subarray(12));
    const reply = await client.nextFrame(5_000);
    expect(reply).toMatchObject({ flowId: 0, sequence: 1, command: { type: 'KeepAlive' } });
    expect(client.closedYet).toBe(false);
    client.close();
  });
});

describe('connection limit', () => {
  it('closes connections beyond --max-connections with TOO_MANY_CONNECTIONS', async () => {
    const limited = await startServer({ args: ['--max-connections', '2'] });
    const first = await RawClient.connect(limited.address);
    const second = await RawClient.connect(limited.address);
    await first.hello();
    await second.hello();
    const third = await RawClient.connect(limited.address);
    const frame = await third.nextFrame(5_000);
    expect(expectReply(frame!.command, 'ErrorMessage').code).toBe('TOO_MANY_CONNECTIONS');
    expect(await third.closesWithin(3_000)).toBe(true);
    // Once one leaves, a new one gets in.
    first.close();
    await first.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fourth = await RawClient.connect(limited.address);
    expectReply(await fourth.hello(), 'Hello');
    second.close();
    fourth.close();
    expect(await limited.stop()).toBe(0);
  });
});
