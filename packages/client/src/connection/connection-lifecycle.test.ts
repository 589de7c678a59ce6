import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClientClosedError, ConnectFailedError, ConnectionLostError } from '../errors.js';
import { infoRequest, useFakeServer } from '../../test-support/fake-server-fixture.js';
import { segmentInfoFor } from '../../test-support/fake-server.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const fake = useFakeServer();

/**
 * Runs a test-support script as its own process (so a leaked socket or timer, or a spinning event
 * loop, shows as a process that does not exit) and parses the JSON report on its last line.
 */
function runSupportScript<R>(name: string, timeoutMs: number): { run: SpawnSyncReturns<string>; report: R } {
  const script = fileURLToPath(new URL(`../../test-support/${name}`, import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  expect(run.error, `${name} did not exit by itself: ${run.stderr}`).toBeUndefined();
  return { run, report: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as R };
}

describe('connection lifecycle', () => {
  it('sends keep-alives only when idle, and closes a connection whose peer stops answering', async () => {
    // An interval far above the 20 ms gaps below, so a loaded machine's scheduling delay is not taken for idleness.
    const sdk = fake.client({ keepAliveIntervalMs: 400, keepAliveTimeoutMs: 400 });
    const flow = sdk.context.openFlow(fake.server.endpoint);
    // Busy: a reply every 20 ms keeps the connection from being idle.
    for (let i = 0; i < 20; i++) {
      await flow.request(infoRequest('s/a/0'));
      await delay(20);
    }
    expect(fake.server.keepAlivesSeen).toBe(0);
    await delay(900);
    expect(fake.server.keepAlivesSeen).toBeGreaterThan(0);

    fake.server.silent = true;
    fake.server.handler = () => {};
    const lost = new Promise<ConnectionLostError>((resolve) => flow.onConnectionLost(resolve));
    const started = Date.now();
    const error = await lost;
    expect(error.message).toMatch(/keep-alive/);
    // Detected within interval + timeout (plus the check tick), not after the 30 s request timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a flow whose request the server holds does not delay 1000 requests of another flow', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 1 });
    const slow = sdk.context.openFlow(fake.server.endpoint);
    const fast = sdk.context.openFlow(fake.server.endpoint);
    // Held until the other flow is done, not for a fixed time: a loaded machine may need longer.
    let releaseSlow = (): void => undefined;
    const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
    fake.server.handler = (request, connection) => {
      const reply = () => connection.reply(request, segmentInfoFor(request.command));
      if (request.flowId === slow.flowId) void slowReleased.then(reply);
      else reply();
    };
    let slowDone = false;
    const held = slow.request(infoRequest('s/slow/0')).then(() => {
      slowDone = true;
    });
    for (let i = 0; i < 1000; i++) {
      const reply = await fast.request(infoRequest(`s/fast/${i}`));
      expect(reply.segment).toBe(`s/fast/${i}`);
    }
    expect(slowDone).toBe(false);
    expect(fake.server.openConnections).toHaveLength(1);
    releaseSlow();
    await held;
  });

  it('prunes a connection left without flows after the idle time; a new flow opens a fresh one', async () => {
    const sdk = fake.client({ idleConnectionTimeoutMs: 200 });
    const flow = sdk.context.openFlow(fake.server.endpoint);
    await flow.request(infoRequest('s/a/0'));
    flow.close();
    expect(fake.server.openConnections).toHaveLength(1);
    await delay(500);
    expect(fake.server.openConnections).toHaveLength(0);
    const next = sdk.context.openFlow(fake.server.endpoint);
    await next.request(infoRequest('s/a/1'));
    expect(fake.server.openConnections).toHaveLength(1);
    expect(fake.server.connections).toHaveLength(2);
  });

  it('fails fast against a dead endpoint, and leaks no socket or timer (the process exits by itself)', () => {
    const { run, report } = runSupportScript<{ code: string; message: string; ms: number }>('dead-endpoint-script.ts', 20_000);
    expect(report.code).toBe(new ConnectFailedError('x', 'y').code);
    expect(report.message).toMatch(/could not connect to 127\.0\.0\.1:\d+/);
    // connectTimeoutMs is 1 s in the script: the failure comes from the acquire timeout, not a retry loop.
    expect(report.ms).toBeLessThan(2_000);
    expect(run.status).toBe(0);
  });

  it('closing the client while flows wait for a node that went down rejects them as closed and leaves the event loop running', () => {
    // A pool that retried its failed creates in a microtask loop never got here: the script spun until killed.
    const { run, report } = runSupportScript<{ codes: string[]; timerFired: boolean }>('close-while-connecting-script.ts', 30_000);
    expect(report.codes).toEqual(Array.from({ length: 8 }, () => new ClientClosedError().code));
    expect(report.timerFired).toBe(true);
    expect(run.status).toBe(0);
  });

  it('carries 10,000 flows over at most maxConnectionsPerEndpoint sockets', async () => {
    const sdk = fake.client({ maxConnectionsPerEndpoint: 4 });
    const warm = sdk.context.openFlow(fake.server.endpoint);
    await warm.request(infoRequest('s/warm/0'));
    warm.close();
    expect(global.gc, 'the heap per flow is measured after a collection: run with --expose-gc').toBeTypeOf('function');
    global.gc!();
    const before = process.memoryUsage().heapUsed;
    const flows = Array.from({ length: 10_000 }, () => sdk.context.openFlow(fake.server.endpoint));
    await Promise.all(flows.map((flow) => flow.request(infoRequest('s/a/0'))));
    global.gc!();
    const perFlow = (process.memoryUsage().heapUsed - before) / flows.length;
    console.log(`heap per idle flow after one request: ${Math.round(perFlow)} bytes`);
    // The bound docs/benchmarks.md promises (the flows bench measures about half of it).
    expect(perFlow).toBeLessThanOrEqual(2048);
    expect(fake.server.openConnections.length).toBeLessThanOrEqual(4);
    expect(sdk.stats()).toMatchObject({ flows: 10_000 });
    for (const flow of flows) flow.close();
    expect(sdk.stats().flows).toBe(0);
  });
});
