/**
 * What a node acknowledged survives a crash (kill -9, --fsync always) exactly once and in order,
 * and writer dedup survives it too; SIGTERM drains, answers what is in flight and exits 0.
 */
import { constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

import { type Command } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import { RawClient, block, eventStrings, expectReply } from './helpers/raw-client.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

async function readAll(client: RawClient, segment: string): Promise<string[]> {
  const events: string[] = [];
  let offset = 0;
  for (;;) {
    const reply = expectReply(
      await client.call({ type: 'ReadSegment', segment, offset, maxBytes: 256 * 1024, waitMs: 0, token: null }, 99),
      'SegmentRead',
    );
    events.push(...eventStrings(reply.data));
    offset += reply.data.length;
    if (reply.data.length === 0 || offset >= reply.length) return events;
  }
}

const EVENTS_PER_BLOCK = 3;
const eventsOfBlock = (segment: string, blockIndex: number): string[] =>
  Array.from({ length: EVENTS_PER_BLOCK }, (_, i) => `${segment}#${blockIndex * EVENTS_PER_BLOCK + i}`);
const appendOf = (segment: string, blockIndex: number): Command => ({
  type: 'AppendBlock',
  segment,
  writerId: 'writer',
  lastEventNumber: (blockIndex + 1) * EVENTS_PER_BLOCK - 1,
  eventCount: EVENTS_PER_BLOCK,
  data: block(eventsOfBlock(segment, blockIndex)),
});

describe('crash recovery', () => {
  it('keeps every acknowledged append exactly once, in order, across kill -9', async () => {
    const server = await startServer({ fsync: 'always' });
    const segments = ['dur/orders/0', 'dur/orders/1', 'dur/audit/0'];
    const client = await RawClient.connect(server.address);
    await client.hello();
    for (const [index, segment] of segments.entries()) {
      expectReply(await client.call({ type: 'CreateSegment', segment, token: null }, index + 1), 'SegmentCreated');
      expectReply(await client.call({ type: 'SetupAppend', segment, writerId: 'writer', token: null }, index + 1), 'AppendSetup');
    }

    // Each segment's writer keeps up to 16 blocks in flight until the node dies under it.
    const ackedBlocks = new Map(segments.map((segment) => [segment, -1]));
    const sentBlocks = new Map(segments.map((segment) => [segment, 0]));
    let crashed = false;
    const pump = async (segment: string, flowId: number): Promise<void> => {
      const inFlight = new Set<Promise<void>>();
      while (!crashed) {
        const blockIndex = sentBlocks.get(segment)!;
        sentBlocks.set(segment, blockIndex + 1);
        const ack = client
          .call(appendOf(segment, blockIndex), flowId)
          .then((reply) => {
            const appended = expectReply(reply, 'DataAppended');
            expect(appended.lastEventNumber).toBe((blockIndex + 1) * EVENTS_PER_BLOCK - 1);
            // Acks of one writer come in order.
            expect(blockIndex).toBe(ackedBlocks.get(segment)! + 1);
            ackedBlocks.set(segment, blockIndex);
          })
          .catch((error: Error) => {
            if (!crashed) throw error;
          })
          .finally(() => inFlight.delete(ack));
        inFlight.add(ack);
        if (inFlight.size >= 16) await Promise.race(inFlight);
      }
      await Promise.allSettled(inFlight);
    };
    const pumps = segments.map((segment, index) => pump(segment, index + 1));
    await new Promise((resolve) => setTimeout(resolve, 800));
    // Blocks are still in flight when the signal lands: the pumps only stop sending new ones.
    crashed = true;
    await server.kill('SIGKILL');
    await Promise.all(pumps);
    expect(server.exitSignal).toBe('SIGKILL');
    for (const segment of segments) expect(ackedBlocks.get(segment)!, `${segment} had acks before the crash`).toBeGreaterThan(5);

    await server.restart();
    const after = await RawClient.connect(server.address);
    await after.hello();
    for (const [index, segment] of segments.entries()) {
      const flowId = index + 1;
      const acked = ackedBlocks.get(segment)!;
      const last = expectReply(await after.call({ type: 'SetupAppend', segment, writerId: 'writer', token: null }, flowId), 'AppendSetup')
        .lastEventNumber;
      // Everything acknowledged is there; maybe more (durable but not yet acknowledged), never less.
      expect(last).toBeGreaterThanOrEqual((acked + 1) * EVENTS_PER_BLOCK - 1);
      const storedBlocks = (last + 1) / EVENTS_PER_BLOCK;
      expect(Number.isInteger(storedBlocks)).toBe(true);
      const expected = Array.from({ length: storedBlocks }, (_, blockIndex) => eventsOfBlock(segment, blockIndex)).flat();
      expect(await readAll(after, segment)).toEqual(expected);

      // The writer resends everything it has no ack for: stored ones are dropped as duplicates.
      for (let blockIndex = acked + 1; blockIndex < sentBlocks.get(segment)!; blockIndex++) {
        expectReply(await after.call(appendOf(segment, blockIndex), flowId), 'DataAppended');
      }
      const all = Array.from({ length: sentBlocks.get(segment)! }, (_, blockIndex) => eventsOfBlock(segment, blockIndex)).flat();
      expect(await readAll(after, segment)).toEqual(all);
      console.log(`${segment}: ${acked + 1} blocks acknowledged, ${storedBlocks} recovered, ${sentBlocks.get(segment)} sent`);
    }
    after.close();
    expect(await server.stop()).toBe(0);
  });
});

/** The open flags (as the kernel holds them) of every log file the process has open. */
function logFileFlags(server: ServerProcess): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync(`/proc/${server.pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${server.pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (!target.startsWith(server.dataDir) || !target.endsWith('.log')) continue;
    const line = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${server.pid}/fdinfo/${fd}`, 'utf8'));
    flags.push(Number.parseInt(line![1]!, 8));
  }
  return flags;
}

describe('log files of a running node', () => {
  // Killing a process keeps the page cache, so no crash test sees a log that is never synced: look
  // at what the kernel was asked for instead.
  it.skipIf(!existsSync('/proc/self/fdinfo'))('are open O_DSYNC with --fsync always (and not with --fsync none)', async () => {
    for (const fsync of ['always', 'none'] as const) {
      const server = await startServer({ fsync });
      const client = await RawClient.connect(server.address);
      await client.hello();
      const segment = `sync-${fsync}/s/0`;
      expectReply(await client.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
      expectReply(await client.call({ type: 'SetupAppend', segment, writerId: 'writer', token: null }), 'AppendSetup');
      expectReply(await client.call(appendOf(segment, 0)), 'DataAppended');
      const flags = logFileFlags(server);
      client.close();
      expect(await server.stop()).toBe(0);
      expect(flags.length, `log files open with --fsync ${fsync}`).toBeGreaterThan(0);
      for (const fileFlags of flags) expect(fileFlags & constants.O_DSYNC, `--fsync ${fsync}`).toBe(fsync === 'always' ? constants.O_DSYNC : 0);
    }
  });
});

describe('SIGTERM', () => {
  it('answers requests in flight, keeps the data, and exits 0', async () => {
    const server = await startServer();
    const client = await RawClient.connect(server.address);
    await client.hello();
    const segment = 'term/s/0';
    expectReply(await client.call({ type: 'CreateSegment', segment, token: null }), 'SegmentCreated');
    expectReply(await client.call({ type: 'SetupAppend', segment, writerId: 'writer', token: null }), 'AppendSetup');
    expectReply(await client.call(appendOf(segment, 0)), 'DataAppended');
    // A read waiting at the tail for 20 s answers (with no events) when the node shuts down.
    const waiting = client.call({ type: 'ReadSegment', segment, offset: block(eventsOfBlock(segment, 0)).length, maxBytes: 1024, waitMs: 20_000, token: null }, 5, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const code = await server.stop();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(expectReply(await waiting, 'SegmentRead').data.length).toBe(0);
    expect(server.logRecords('stopped')).toHaveLength(1);

    await server.restart();
    const after = await RawClient.connect(server.address);
    await after.hello();
    expect(await readAll(after, segment)).toEqual(eventsOfBlock(segment, 0));
    after.close();
    expect(await server.stop()).toBe(0);
  });
});
