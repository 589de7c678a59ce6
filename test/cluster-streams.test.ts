/**
 * A 3-node cluster seen through the SDK given ONE endpoint: it learns the map, reaches every node,
 * writes and reads a stream spread over all of them, follows WrongHost in one hop, and manages
 * stream metadata (conflicts, half-created streams, seal, delete). Each node's /metrics counts it.
 */
import {
  SegmentIsSealedError,
  NoSuchSegmentError,
  NoSuchStreamError,
  SluiceClient,
  StreamConflictError,
  type EventWriter,
} from '@sluice/client';
import { metadataSegmentOf, ownerOfSegment, segmentIndexForKey, segmentNameOf, type ClusterMap } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clusterTotals, health, scrape } from './helpers/prometheus.js';
import { RawClient, expectReply, storedSize } from './helpers/raw-client.js';
import { ServerProcess, freePorts, makeTempDir, startCluster, type ClusterProcesses } from './helpers/server-process.js';

const CONTAINERS = 64;
const MAX_CONNECTIONS = 2;
let cluster: ClusterProcesses;
let map: ClusterMap;
let client: SluiceClient;

beforeAll(async () => {
  cluster = await startCluster(3, { args: ['--containers', String(CONTAINERS), '--metrics-port', '0'] });
  map = { members: cluster.members, containerCount: CONTAINERS };
  client = new SluiceClient({ endpoints: [cluster.nodes[0]!.address], maxConnectionsPerEndpoint: MAX_CONNECTIONS });
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

/** The first name `${prefix}-N` whose segments (and metadata segment) fall on every member. */
function streamOnEveryNode(prefix: string, segments: number): string {
  for (let n = 0; ; n++) {
    const stream = `${prefix}-${n}`;
    const owners = new Set(Array.from({ length: segments }, (_, index) => ownerOfSegment(map, segmentNameOf(stream, index))));
    if (owners.size === map.members.length) return stream;
  }
}

function nodeOf(address: string): ServerProcess {
  return cluster.nodes.find((node) => node.address === address)!;
}

describe('a 3-node cluster through a client given one endpoint', () => {
  it('writes 30 writers x 100 events over 12 segments and reads all 3000 back in key order', async () => {
    const stream = streamOnEveryNode('cs/orders', 12);
    const names = ['sluice_events_total', 'sluice_appends_total', 'sluice_appended_bytes_total', 'sluice_container_appended_bytes_total'];
    const before = await clusterTotals(cluster.nodes, names);
    await client.createStream(stream, { segments: 12 });

    const WRITERS = 30;
    const EVENTS = 100;
    const writers: EventWriter[] = Array.from({ length: WRITERS }, () => client.createWriter(stream));
    await Promise.all(
      writers.map(async (writer, w) => {
        const writes = Array.from({ length: EVENTS }, (_, i) => writer.write(`key-${w}`, `${w}:${i}`));
        await Promise.all(writes);
        await writer.flush();
      }),
    );

    // Sockets to every node although only one was given, each pool within its maximum.
    const endpoints = client.stats().endpoints;
    expect(Object.keys(endpoints).sort()).toEqual([...cluster.members].sort());
    for (const stats of Object.values(endpoints)) {
      expect(stats.connections).toBeGreaterThanOrEqual(1);
      expect(stats.connections).toBeLessThanOrEqual(MAX_CONNECTIONS);
    }
    // Every node sees writer flows (the stream's segments are on all three).
    const writerGauges = await Promise.all(cluster.nodes.map(async (node) => (await scrape(node)).value('sluice_writers')));
    expect(writerGauges.every((count) => count > 0)).toBe(true);
    await Promise.all(writers.map((writer) => writer.close()));

    const reader = client.createReader(stream, { from: 'head' });
    const next = new Array<number>(WRITERS).fill(0);
    let count = 0;
    const timer = setTimeout(() => void reader.close(), 20_000);
    for await (const event of reader) {
      const [w, i] = event.data.toString().split(':').map(Number) as [number, number];
      expect(i).toBe(next[w]); // each key in the order written, nothing twice
      next[w] = i + 1;
      expect(event.segment).toBe(segmentNameOf(stream, segmentIndexForKey(`key-${w}`, 12)));
      if (++count === WRITERS * EVENTS) break;
    }
    clearTimeout(timer);
    expect(next).toEqual(new Array<number>(WRITERS).fill(EVENTS));

    // The nodes counted exactly what was written (fsync none here: appends count, fsyncs do not).
    const after = await clusterTotals(cluster.nodes, [...names, 'sluice_read_bytes_total']);
    const delta = (name: string): number => after[name]! - before[name]!;
    expect(delta('sluice_events_total')).toBe(WRITERS * EVENTS);
    expect(delta('sluice_appends_total')).toBeGreaterThanOrEqual(WRITERS); // at least a block per writer
    expect(delta('sluice_appends_total')).toBeLessThanOrEqual(WRITERS * EVENTS);
    const payload = Array.from({ length: WRITERS }, (_, w) =>
      Array.from({ length: EVENTS }, (__, i) => storedSize(`${w}:${i}`, `key-${w}`)).reduce((a, b) => a + b, 0),
    ).reduce((a, b) => a + b, 0);
    expect(delta('sluice_appended_bytes_total')).toBe(payload);
    expect(delta('sluice_container_appended_bytes_total')).toBe(payload);
    expect(after.sluice_read_bytes_total).toBeGreaterThanOrEqual(payload);
  });

  it('serves /metrics and /health on every node', async () => {
    for (const node of cluster.nodes) {
      const { status, body } = await health(node);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok', node: node.address, containers: node.listening?.containers });
      expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);

      const metrics = await scrape(node);
      expect(metrics.value('sluice_node_info', { node: node.address })).toBe(1);
      expect(metrics.value('sluice_containers_owned')).toBe(node.listening?.containers);
      expect(metrics.value('sluice_connections')).toBeGreaterThanOrEqual(1); // this test's client
      expect(metrics.value('sluice_requests_total', { command: 'Hello' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('sluice_requests_total', { command: 'AppendBlock' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('sluice_requests_total', { command: 'ReadSegment' })).toBeGreaterThanOrEqual(1);
      expect(metrics.sum('sluice_container_appends_total')).toBeGreaterThanOrEqual(1);
      expect(metrics.has('process_cpu_seconds_total')).toBe(true);
    }
    const response = await fetch(`http://${cluster.nodes[0]!.host}:${String(cluster.nodes[0]!.listening?.metricsPort)}/nope`);
    expect(response.status).toBe(404);
  });

  it('follows WrongHost to the owner it names, in one hop', async () => {
    const stream = 'cs/redirected';
    await client.createStream(stream, { segments: 1 });
    const segment = segmentNameOf(stream, 0);
    const owner = ownerOfSegment(map, segment);
    const stranger = cluster.members.find((member) => member !== owner)!;

    // A node that does not own the segment names the owner...
    const raw = await RawClient.connect(stranger);
    try {
      await raw.hello();
      expect(await raw.call({ type: 'GetSegmentInfo', segment, token: null })).toEqual({ type: 'WrongHost', segment, owner });
    } finally {
      raw.close();
    }

    // ...and the SDK, sent to that node (as a stale route would), goes straight to the owner.
    const wrongHostsBefore = (await scrape(nodeOf(stranger))).value('sluice_errors_total', { code: 'WRONG_HOST' });
    const infosBefore = (await scrape(nodeOf(owner))).value('sluice_requests_total', { command: 'GetSegmentInfo' });
    client.context.router.noteWrongHost(segment, stranger);
    const info = await client.segments.getSegmentInfo(segment);
    expect(info).toMatchObject({ segment, length: 0, sealed: false });
    expect((await scrape(nodeOf(stranger))).value('sluice_errors_total', { code: 'WRONG_HOST' })).toBe(wrongHostsBefore + 1);
    expect((await scrape(nodeOf(owner))).value('sluice_requests_total', { command: 'GetSegmentInfo' })).toBe(infosBefore + 1);
  });

  it('refuses to create an existing stream with another segment count; the same count is a no-op', async () => {
    const stream = 'cs/conflict';
    await client.createStream(stream, { segments: 3 });
    await client.createStream(stream, { segments: 3 });
    const other = new SluiceClient({ endpoints: [cluster.nodes[2]!.address] });
    try {
      const error = await other.createStream(stream, { segments: 5 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StreamConflictError);
      expect((error as StreamConflictError).code).toBe('STREAM_CONFLICT');
      expect((error as Error).message).toContain('3 segments, not 5');
      expect((await other.getStreamInfo(stream)).segments).toBe(3);
    } finally {
      await other.close();
    }
  });

  it('completes a half-created stream when createStream is retried', async () => {
    const stream = streamOnEveryNode('cs/half', 4);
    // What a crash midway leaves: the metadata segment and its segment count, one data segment of four.
    const meta = metadataSegmentOf(stream);
    await client.segments.createSegment(meta);
    expect((await client.segments.updateAttribute(meta, 'segmentCount', null, 4)).success).toBe(true);
    await client.segments.createSegment(segmentNameOf(stream, 0));
    await expect(client.segments.getSegmentInfo(segmentNameOf(stream, 3))).rejects.toBeInstanceOf(NoSuchSegmentError);

    await client.createStream(stream, { segments: 4 });
    const info = await client.getStreamInfo(stream);
    expect(info.segments).toBe(4);
    expect(info.segmentInfos.map((segment) => segment.segment)).toEqual([0, 1, 2, 3].map((index) => segmentNameOf(stream, index)));

    const writer = client.createWriter(stream);
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write(`k${i}`, `e${i}`)));
    await writer.close();
    const lengths = (await client.getStreamInfo(stream)).segmentInfos.reduce((sum, segment) => sum + segment.length, 0);
    expect(lengths).toBeGreaterThan(0);
  });

  it('seals a stream: writes fail with SegmentIsSealedError and readers reach the end', async () => {
    const stream = streamOnEveryNode('cs/sealed', 3);
    await client.createStream(stream, { segments: 3 });
    const writer = client.createWriter(stream);
    await Promise.all(Array.from({ length: 30 }, (_, i) => writer.write(`k${i}`, `e${i}`)));
    await writer.flush();

    await client.sealStream(stream);
    await client.sealStream(stream); // idempotent
    const info = await client.getStreamInfo(stream);
    expect(info.sealed).toBe(true);
    expect(info.segmentInfos.every((segment) => segment.sealed)).toBe(true);

    const late = client.createWriter(stream);
    for (const w of [writer, late]) {
      const error = await w.write('k1', 'too late').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SegmentIsSealedError);
      expect((error as SegmentIsSealedError).code).toBe('SEGMENT_IS_SEALED');
    }
    await Promise.allSettled([writer.close(), late.close()]);

    const events: string[] = [];
    for await (const event of client.createReader(stream, { from: 'head' })) events.push(event.data.toString());
    expect(events.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `e${i}`).sort());
  });

  it('deletes a stream with all its segments; the name can then be used again', async () => {
    const stream = streamOnEveryNode('cs/deleted', 3);
    await client.createStream(stream, { segments: 3 });
    await client.deleteStream(stream);
    await expect(client.getStreamInfo(stream)).rejects.toBeInstanceOf(NoSuchStreamError);
    for (const index of [0, 1, 2]) {
      await expect(client.segments.getSegmentInfo(segmentNameOf(stream, index))).rejects.toBeInstanceOf(NoSuchSegmentError);
    }
    await expect(client.segments.getSegmentInfo(metadataSegmentOf(stream))).rejects.toBeInstanceOf(NoSuchSegmentError);
    await client.deleteStream(stream).catch((error: unknown) => expect(error).toBeInstanceOf(NoSuchStreamError));

    await client.createStream(stream, { segments: 2 });
    expect((await client.getStreamInfo(stream)).segments).toBe(2);
  });
});

describe('nodes started with different cluster maps', () => {
  it('lists the streams of every node, from any node, as they are created, sealed, scaled and deleted', async () => {
    // Streams whose metadata lives on each of the three nodes: a list from one node alone would miss two.
    const byOwner = new Map<string, string>();
    for (let n = 0; byOwner.size < map.members.length; n++) {
      const stream = `ls-${n}/events`;
      byOwner.set(ownerOfSegment(map, metadataSegmentOf(stream)), stream);
    }
    const streams = [...byOwner.values()].sort();
    for (const stream of streams) await client.createStream(stream, { segments: 2 });
    const listed = async (): Promise<string[]> => (await client.listStreams()).filter((name) => name.startsWith('ls-'));
    expect(await listed()).toEqual(streams);
    const [sealed, scaled, deleted] = streams as [string, string, string];
    expect(await client.listStreams(sealed.split('/')[0])).toEqual([sealed]);

    await client.sealStream(sealed);
    await client.scaleStream(scaled, { segments: 3 });
    await client.deleteStream(deleted);
    const fromAnotherNode = new SluiceClient({ endpoints: [cluster.nodes[2]!.address] });
    try {
      expect((await fromAnotherNode.listStreams()).filter((name) => name.startsWith('ls-'))).toEqual([sealed, scaled].sort());
    } finally {
      await fromAnotherNode.close();
    }
  });

  it('refuse each other: a client or peer with another fingerprint gets an error naming both', async () => {
    // Two nodes with the same member list but different --containers: a misconfigured cluster.
    const ports = await freePorts(2);
    const members = ports.map((port) => `127.0.0.1:${port}`);
    const nodes = members.map(
      (member, index) =>
        new ServerProcess(makeTempDir(), { port: ports[index]! }, [
          '--cluster',
          members.join(','),
          '--node',
          member,
          '--containers',
          index === 0 ? '16' : '32',
        ]),
    );
    await Promise.all(nodes.map((node) => node.start()));
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const fingerprintA = a.listening!.fingerprint as string;
    const fingerprintB = b.listening!.fingerprint as string;
    expect(fingerprintA).not.toBe(fingerprintB);
    try {
      // A peer (Hello naming its node) with A's fingerprint, at B.
      const raw = await RawClient.connect(b.address);
      const reply = expectReply(await raw.hello({ clusterFingerprint: fingerprintA, node: a.address }), 'ErrorMessage');
      expect(reply.code).toBe('CLUSTER_MISMATCH');
      expect(reply.message).toContain(fingerprintA);
      expect(reply.message).toContain(fingerprintB);
      expect(reply.message).toContain(a.address);
      expect(await raw.closesWithin(3_000)).toBe(true);

      // The SDK learns A's map, then meets B: the call fails with that error, not a hang or a retry loop.
      const mapA = { members, containerCount: 16 };
      let stream = 'fp/s0';
      for (let n = 1; ownerOfSegment(mapA, metadataSegmentOf(stream)) !== b.address; n++) stream = `fp/s${n}`;
      const sdk = new SluiceClient({ endpoints: [a.address], connectTimeoutMs: 1_000 });
      try {
        const error = await sdk.createStream(stream, { segments: 1 }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toContain('CLUSTER_MISMATCH');
        expect((error as Error).message).toContain(fingerprintA);
        expect((error as Error).message).toContain(fingerprintB);
      } finally {
        await sdk.close();
      }
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});
