import { describe, expect, it, vi } from 'vitest';

import type { Flow, FlowOptions } from '../connection/flow.js';
import {
  ClientClosedError,
  ConnectFailedError,
  ConnectionLostError,
  InvalidOptionError,
  SegmentIsSealedError,
  ServerError,
  TimeoutError,
  WrongHostError,
} from '../errors.js';
import { SegmentRoute, type RouteContext, type RouteFlow } from './segment-route.js';

const SEGMENT = 'shop/orders/0';

interface FakeFlow {
  endpoint: string;
  options: FlowOptions | undefined;
  closed: boolean;
  listeners: unknown[];
  close(): void;
  onConnectionLost(listener: unknown): () => void;
}

/** A client as a route sees it: a router answering `owner`, flows that only record how they were made and used. */
function fakeClient(owner = 'node-a:9090') {
  const made: FakeFlow[] = [];
  const adminFlows = new Map<string, FakeFlow>();
  const flowTo = (endpoint: string, options?: FlowOptions): FakeFlow => ({
    endpoint,
    options,
    closed: false,
    listeners: [],
    close() {
      this.closed = true;
    },
    onConnectionLost(listener) {
      this.listeners.push(listener);
      return () => {};
    },
  });
  const router = {
    owner,
    ownerOf: vi.fn(async () => router.owner),
    backupsOf: vi.fn(async () => []),
    noteFailure: vi.fn(),
    noteWrongHost: vi.fn(),
    /** Whether a newer cluster map arrives during the next pause. */
    newMapDuringPause: false,
    untilNewMap: async (pause: Promise<void>) => {
      if (router.newMapDuringPause) return true;
      await pause;
      return false;
    },
  };
  const emitted: Record<string, unknown>[] = [];
  const context: RouteContext = {
    router,
    openFlow: (endpoint, options) => {
      const flow = flowTo(endpoint, options);
      made.push(flow);
      return flow as unknown as Flow;
    },
    adminFlow: (endpoint) => {
      if (!adminFlows.has(endpoint)) adminFlows.set(endpoint, flowTo(endpoint));
      return adminFlows.get(endpoint)! as unknown as Flow;
    },
    emit: (_event, detail) => emitted.push(detail),
  };
  return { context, router, made, adminFlows, emitted };
}

const route = (client: ReturnType<typeof fakeClient>, kind: RouteFlow, listener: (() => void) | null = null, user?: string) =>
  new SegmentRoute(SEGMENT, client.context, kind, listener, user);

describe('SegmentRoute', () => {
  it('opens one flow to the owner and keeps using it until that flow is closed', async () => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    const first = await segmentRoute.flow();
    expect(await segmentRoute.flow()).toBe(first);
    expect(client.made).toHaveLength(1);
    expect(client.made[0]).toMatchObject({ endpoint: 'node-a:9090', options: { pooled: true } });

    client.made[0]!.closed = true; // its connection was lost
    client.router.owner = 'node-b:9090';
    const second = await segmentRoute.flow();
    expect(second).not.toBe(first);
    expect(client.made[1]).toMatchObject({ endpoint: 'node-b:9090' });
    expect(segmentRoute.current).toBe(second);
  });

  it('opens a dedicated flow, or uses the node\'s shared admin flow, as its kind says; the listener goes on its own flows only', async () => {
    const listener = () => {};
    const client = fakeClient();
    await route(client, 'dedicated', listener).flow();
    expect(client.made[0]).toMatchObject({ options: { pooled: false }, listeners: [listener] });
    await route(client, 'pooled').flow();
    expect(client.made[1]!.listeners).toEqual([]);

    const admin = await route(client, 'admin', listener).flow();
    expect(admin).toBe(client.adminFlows.get('node-a:9090'));
    expect(client.made).toHaveLength(2); // no flow of its own
    expect(client.adminFlows.get('node-a:9090')!.listeners).toEqual([]);
  });

  it('after close, an attempt fails with ClientClosedError naming what the route serves, and pauses end at once', async () => {
    const segmentRoute = route(fakeClient(), 'pooled', null, `writer of ${SEGMENT}`);
    const own = await segmentRoute.flow();
    const pause = segmentRoute.pause(60_000);
    segmentRoute.close();
    await pause;
    expect((own as unknown as FakeFlow).closed).toBe(true);
    await expect(segmentRoute.flow()).rejects.toThrow(new ClientClosedError(`writer of ${SEGMENT}`));
    await expect(route(fakeClient(), 'pooled').flow().then(() => 'open')).resolves.toBe('open');
    const unnamed = route(fakeClient(), 'pooled');
    unnamed.close();
    await expect(unnamed.flow()).rejects.toThrow('the client is closed');
  });

  it('gives up on errors that are not retriable and keeps the first sealing reply; the router hears of neither', async () => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    await segmentRoute.flow();
    expect(segmentRoute.failed(new InvalidOptionError('x', 'bad'))).toBe(false);
    const sealed = new SegmentIsSealedError(SEGMENT, 10);
    expect(segmentRoute.failed(sealed)).toBe(false);
    expect(segmentRoute.failed(new SegmentIsSealedError(SEGMENT, 20))).toBe(false);
    expect(segmentRoute.sealedBy).toBe(sealed);
    expect(client.router.noteFailure).not.toHaveBeenCalled();
    expect(client.made[0]!.closed).toBe(false);
  });

  it.each([
    ['WrongHost', new WrongHostError(SEGMENT, 'node-b:9090')],
    ['NOT_PRIMARY', new ServerError('NOT_PRIMARY', 'not the primary')],
    ['FENCED', new ServerError('FENCED', 'fenced')],
    ['a refused connection', new ConnectFailedError('node-a:9090', 'ECONNREFUSED')],
    ['a timeout (late replies may still come on the old flow)', new TimeoutError('no reply')],
  ])('after %s: tells the router, leaves and closes its flow, and tries again', async (_name, error) => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    await segmentRoute.flow();
    expect(segmentRoute.failed(error)).toBe(true);
    expect(client.router.noteFailure).toHaveBeenCalledWith(SEGMENT, error);
    expect(client.made[0]!.closed).toBe(true);
    expect(segmentRoute.current).toBeNull();
  });

  it('keeps its flow after a retriable error that says nothing about the route (no majority, node busy)', async () => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    const flow = await segmentRoute.flow();
    for (const error of [new ServerError('NOT_ENOUGH_REPLICAS', 'no majority'), new ServerError('SHUTTING_DOWN', 'bye')]) {
      expect(segmentRoute.failed(error)).toBe(true);
    }
    expect(client.router.noteFailure).toHaveBeenCalledTimes(2);
    expect(segmentRoute.current).toBe(flow);
    expect(client.made[0]!.closed).toBe(false);
    expect(segmentRoute.failed(new ConnectionLostError('node-a:9090', 'reset'))).toBe(true);
  });

  it('never closes the shared admin flow when it leaves it, and never hands it out', async () => {
    const client = fakeClient();
    const admin = route(client, 'admin');
    await admin.flow();
    expect(admin.takeFlow()).toBeNull();
    expect(admin.current).not.toBeNull();
    admin.failed(new WrongHostError(SEGMENT, 'node-b:9090'));
    expect(client.adminFlows.get('node-a:9090')!.closed).toBe(false);
    expect(admin.current).toBeNull();

    const own = route(client, 'dedicated');
    const flow = await own.flow();
    expect(own.takeFlow()).toBe(flow);
    expect(own.current).toBeNull();
    expect((flow as unknown as FakeFlow).closed).toBe(false); // the caller closes it
    expect(own.takeFlow()).toBeNull();
  });

  it('backs off longer with each failure in a row, from the shortest pause again after a success, and announces each retry', () => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      const delays = [segmentRoute.nextDelay(), segmentRoute.nextDelay(), segmentRoute.nextDelay()];
      expect(segmentRoute.attempt).toBe(3);
      expect(delays[1]).toBeGreaterThan(delays[0]!);
      expect(delays[2]).toBeGreaterThan(delays[1]!);
      segmentRoute.announceRetry(delays[2]! + 0.4, new ConnectionLostError('node-a:9090', 'reset'), { writerId: 'w1' });
      expect(client.emitted).toEqual([
        { segment: SEGMENT, writerId: 'w1', attempt: 3, delayMs: Math.round(delays[2]! + 0.4), reason: 'connection to node-a:9090 lost: reset' },
      ]);
      segmentRoute.succeeded();
      expect(segmentRoute.attempt).toBe(0);
      expect(segmentRoute.nextDelay()).toBe(delays[0]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('a pause that a newer cluster map cuts short starts the backoff over: the map says where to go now', async () => {
    const client = fakeClient();
    const segmentRoute = route(client, 'pooled');
    segmentRoute.nextDelay();
    segmentRoute.nextDelay();
    await segmentRoute.pause(5); // ends on its own: the failures in a row still count
    expect(segmentRoute.attempt).toBe(2);
    client.router.newMapDuringPause = true;
    await segmentRoute.pause(60_000);
    expect(segmentRoute.attempt).toBe(0);
    segmentRoute.close();
  });
});
