import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { StaticRoles } from '../cluster/static-roles.js';
import type { StoreStats } from '../store/types.js';
import { NodeMetrics } from './node-metrics.js';

const silent = pino({ level: 'silent' });

function nodeMetrics(stats: Partial<StoreStats> = {}): NodeMetrics {
  const store: StoreStats = {
    appends: 0,
    events: 0,
    bytes: 0,
    fsyncs: 0,
    syncs: 0,
    corruptReads: 0,
    failedContainers: [],
    cacheBytes: 0,
    cacheHits: 0,
    cacheMisses: 0,
    recoveryMs: 0,
    recoveredLogBytes: 0,
    ...stats,
  };
  return new NodeMetrics({
    store: () => store,
    connections: () => 3,
    writers: () => 7,
    cluster: new StaticRoles(['127.0.0.1:9091', '127.0.0.1:9092'], 8, '127.0.0.1:9091'),
  });
}

describe('NodeMetrics', () => {
  it('renders what the request path counted and what the store reports, read at scrape time', async () => {
    const metrics = nodeMetrics({ appends: 10, events: 250, bytes: 4000, fsyncs: 4, recoveryMs: 1500 });
    const { counts } = metrics;
    counts.request('AppendBlock');
    counts.request('AppendBlock');
    counts.request('ReadSegment');
    counts.reply({ type: 'WrongHost', segment: 'a/b/0', owner: '127.0.0.1:9092' });
    counts.reply({ type: 'ErrorMessage', code: 'CLUSTER_MISMATCH', message: '…' });
    counts.reply({ type: 'KeepAlive' });
    counts.readWaited();
    counts.read(123);
    counts.appended(5, 100);
    counts.appended(5, 50);
    counts.appended(6, 10);

    const text = await metrics.registry.metrics();
    for (const line of [
      'sluice_connections 3',
      'sluice_writers 7',
      'sluice_requests_total{command="AppendBlock"} 2',
      'sluice_requests_total{command="ReadSegment"} 1',
      'sluice_errors_total{code="WRONG_HOST"} 1',
      'sluice_errors_total{code="CLUSTER_MISMATCH"} 1',
      'sluice_appends_total 10',
      'sluice_events_total 250',
      'sluice_appended_bytes_total 4000',
      'sluice_fsyncs_total 4',
      'sluice_appends_per_fsync 2.5',
      'sluice_read_waits_total 1',
      'sluice_read_bytes_total 123',
      'sluice_container_appends_total{container="5"} 2',
      'sluice_container_appended_bytes_total{container="5"} 150',
      'sluice_container_appends_total{container="6"} 1',
      'sluice_recovery_seconds 1.5',
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(text).not.toContain('code="KEEP_ALIVE"');

    // A second scrape reports totals, not sums of scrapes.
    counts.request('AppendBlock');
    expect(await metrics.registry.metrics()).toContain('\nsluice_requests_total{command="AppendBlock"} 3\n');
  });

  it('serves /metrics and /health over HTTP; /health is 503 once stopping; nothing else is served', async () => {
    const metrics = nodeMetrics();
    const port = await metrics.serve('127.0.0.1', 0, silent);
    const base = `http://127.0.0.1:${port}`;
    try {
      const scraped = await fetch(`${base}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toContain('text/plain');
      expect(await scraped.text()).toContain('sluice_containers_owned');

      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', node: '127.0.0.1:9091', connections: 3 });

      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);

      metrics.markStopping();
      const stopping = await fetch(`${base}/health`);
      expect(stopping.status).toBe(503);
      expect(await stopping.json()).toMatchObject({ status: 'stopping' });
    } finally {
      await metrics.close();
    }
  });

  it('names --metrics-port when the port is taken', async () => {
    const first = nodeMetrics();
    const port = await first.serve('127.0.0.1', 0, silent);
    try {
      await expect(nodeMetrics().serve('127.0.0.1', port, silent)).rejects.toThrow(/--metrics-port: cannot listen on 127.0.0.1:\d+: the address is in use/);
    } finally {
      await first.close();
    }
  });
});
