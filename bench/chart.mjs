// The benchmark chart as a standalone SVG, drawn by hand: no browser, no chart library.
// One group per scenario (and unit); each row is a horizontal bar whose length is its performance
// relative to the best row of the group (value ÷ best, or best ÷ value where lower is better).
//
// `node bench/chart.mjs` redraws docs/benchmarks.svg from bench/results/latest.json.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { human } from './lib/format.mjs';
import { DOCS_SVG, RESULTS_FILE } from './lib/paths.mjs';

const WIDTH = 980;
const LABEL_RIGHT = 190;
const BAR_LEFT = 200;
const BAR_WIDTH = 500;
const ROW_HEIGHT = 22;
const BAR_HEIGHT = 15;
const GROUP_GAP = 14;
const HEADER_HEIGHT = 22;
const TOP = 52;

const COLORS = { sluice: '#2563eb', peer: '#94a3b8', limit: '#334155' };
const LIMIT_SYSTEMS = new Set(['raw-loopback', 'raw-copy', 'fsync-limit']);

const escapeXml = (s) =>
  String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function colorOf(system) {
  if (system.startsWith('sluice')) return COLORS.sluice;
  if (LIMIT_SYSTEMS.has(system)) return COLORS.limit;
  return COLORS.peer;
}

const measured = (r) => typeof r.value === 'number' && Number.isFinite(r.value) && r.value > 0;

/** "<date> · quick run · 2 × CPU · Node v20" for a latest.json result. */
export function subtitleOf(result) {
  const m = result.machine;
  return [result.startedAt, result.quick ? 'quick run' : null, m ? `${m.cpus} × ${m.cpuModel}` : null, m ? `Node ${m.node}` : null]
    .filter(Boolean)
    .join(' · ');
}

/** Rows grouped by scenario and unit, in the order they come. */
export function chartGroups(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.scenario}\u0000${r.unit}`;
    if (!groups.has(key)) groups.set(key, { scenario: r.scenario, unit: r.unit, better: r.better ?? 'higher', rows: [] });
    groups.get(key).rows.push(r);
  }
  for (const group of groups.values()) {
    const values = group.rows.filter(measured).map((r) => r.value);
    group.best = values.length === 0 ? null : group.better === 'lower' ? Math.min(...values) : Math.max(...values);
  }
  return [...groups.values()];
}

/** 0..1: how close the row comes to the best of its group. */
export function relativeToBest(r, group) {
  if (!measured(r) || group.best === null) return null;
  return group.better === 'lower' ? group.best / r.value : r.value / group.best;
}

/**
 * @param {import('./lib/types.js').Row[]} rows
 * @param {{ title?: string, subtitle?: string }} [options]
 */
export function renderChart(rows, { title = 'Sluice benchmarks', subtitle = '' } = {}) {
  const groups = chartGroups(rows);
  const parts = [];
  let y = TOP;
  for (const group of groups) {
    const direction = group.better === 'lower' ? 'lower is better' : 'higher is better';
    parts.push(
      `<text x="16" y="${y + 15}" class="group">${escapeXml(group.scenario)}</text>` +
        `<text x="${BAR_LEFT}" y="${y + 15}" class="unit">${escapeXml(group.unit || '')}${group.unit ? ', ' : ''}${direction}</text>`,
    );
    y += HEADER_HEIGHT;
    for (const r of group.rows) {
      const rel = relativeToBest(r, group);
      parts.push(`<text x="${LABEL_RIGHT}" y="${y + 12}" class="system" text-anchor="end">${escapeXml(r.system)}</text>`);
      if (rel === null) {
        const why = r.skipped ? `skipped: ${r.skipped}` : r.error ? `error: ${r.error}` : 'no value';
        parts.push(`<text x="${BAR_LEFT + 4}" y="${y + 12}" class="skipped">${escapeXml(why.slice(0, 90))}</text>`);
      } else {
        const width = Math.max(1, Math.round(rel * BAR_WIDTH));
        const mark = r.met === true ? '✓ goal met' : r.met === false ? '✗ goal missed' : '';
        const relText = rel >= 0.995 ? 'best' : `${rel >= 0.1 ? rel.toFixed(2) : rel.toPrecision(2)}× best`;
        parts.push(
          `<rect x="${BAR_LEFT}" y="${y + 2}" width="${width}" height="${BAR_HEIGHT}" rx="2" fill="${colorOf(r.system)}">` +
            `<title>${escapeXml(`${r.scenario} / ${r.system}: ${r.value} ${r.unit}`)}</title></rect>` +
            `<text x="${BAR_LEFT + width + 6}" y="${y + 12}" class="value">${escapeXml(`${human(r.value)} ${r.unit}`)}` +
            `<tspan class="rel" dx="5">(${relText})</tspan>` +
            `${mark ? `<tspan dx="6" class="${r.met ? 'met' : 'missed'}">${escapeXml(mark)}</tspan>` : ''}</text>`,
        );
      }
      y += ROW_HEIGHT;
    }
    y += GROUP_GAP;
  }
  const legendY = y + 4;
  const legend = [
    ['Sluice', COLORS.sluice],
    ['peers (Redis, NATS)', COLORS.peer],
    ['physical limits', COLORS.limit],
  ]
    .map(
      ([name, color], i) =>
        `<rect x="${16 + i * 200}" y="${legendY}" width="12" height="12" fill="${color}"/>` +
        `<text x="${34 + i * 200}" y="${legendY + 11}" class="system">${escapeXml(name)}</text>`,
    )
    .join('');
  const height = legendY + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}">
<style>
  text { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 12px; fill: #0f172a; }
  .title { font-size: 16px; font-weight: 600; }
  .subtitle { fill: #475569; }
  .group { font-weight: 600; font-size: 13px; }
  .unit, .rel { fill: #64748b; }
  .skipped { fill: #94a3b8; font-style: italic; }
  .met { fill: #15803d; }
  .missed { fill: #b91c1c; font-weight: 600; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="24" class="title">${escapeXml(title)}</text>
<text x="16" y="42" class="subtitle">${escapeXml(subtitle)}</text>
${parts.join('\n')}
${legend}
</svg>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = JSON.parse(await readFile(RESULTS_FILE, 'utf8'));
  await writeFile(DOCS_SVG, renderChart(result.rows, { subtitle: subtitleOf(result) }));
  console.log(`wrote ${DOCS_SVG}`);
}
