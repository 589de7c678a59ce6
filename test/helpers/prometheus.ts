/**
 * Reads a node's HTTP side (--metrics-port): GET /metrics parsed into samples, GET /health as JSON.
 *
 *   const metrics = await scrape(node);            // node.listening.metricsPort
 *   metrics.value('sluice_events_total');          // one sample, labels ignored when there is one
 *   metrics.value('sluice_requests_total', { command: 'AppendBlock' });
 *   metrics.sum('sluice_container_appends_total'); // over every label set
 */
import type { ServerProcess } from './server-process.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Metrics {
  constructor(
    readonly samples: readonly Sample[],
    readonly text: string,
  ) {}

  /** The value of the sample with this name whose labels include these; 0 when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.samples.find(
      (candidate) => candidate.name === name && Object.entries(labels).every(([key, value]) => candidate.labels[key] === value),
    );
    return sample?.value ?? 0;
  }

  sum(name: string): number {
    return this.samples.filter((sample) => sample.name === name).reduce((total, sample) => total + sample.value, 0);
  }

  has(name: string): boolean {
    return this.samples.some((sample) => sample.name === name);
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Metrics {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return new Metrics(samples, text);
}

export function metricsUrl(node: ServerProcess, path: '/metrics' | '/health'): string {
  const port = node.listening?.metricsPort;
  if (typeof port !== 'number') throw new Error(`${node.address} was not started with --metrics-port`);
  return `http://${node.host}:${port}${path}`;
}

export async function scrape(node: ServerProcess): Promise<Metrics> {
  const response = await fetch(metricsUrl(node, '/metrics'));
  if (response.status !== 200) throw new Error(`GET /metrics of ${node.address}: ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** Every node's metrics, summed per name over nodes and labels. */
export async function clusterTotals(nodes: readonly ServerProcess[], names: readonly string[]): Promise<Record<string, number>> {
  const scraped = await Promise.all(nodes.map((node) => scrape(node)));
  return Object.fromEntries(names.map((name) => [name, scraped.reduce((total, metrics) => total + metrics.sum(name), 0)]));
}

export async function health(node: ServerProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(metricsUrl(node, '/health'));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
