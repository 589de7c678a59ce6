// Formatting numbers, rows and tables (terminal and Markdown).

/** 1234567 -> "1.23 M", 45678 -> "45.7 k", 12.345 -> "12.3", 0.1234 -> "0.123". */
export function human(n) {
  if (n === null || n === undefined) return '—';
  if (typeof n !== 'number') return String(n);
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${trim(n / 1e9)} G`;
  if (abs >= 1e6) return `${trim(n / 1e6)} M`;
  if (abs >= 1e4) return `${trim(n / 1e3)} k`;
  if (abs >= 1000 || Number.isInteger(n)) return String(Math.round(n));
  return trim(n);
}

function trim(n) {
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toFixed(digits);
}

/** "×1.53" */
export function ratioText(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '';
  return `×${ratio >= 10 ? ratio.toFixed(1) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}`;
}

const EXTRA_LABELS = { p50Us: 'p50', p99Us: 'p99', p999Us: 'p99.9', maxUs: 'max', meanUs: 'mean', p50OverFloorUs: 'p50 − floor' };
/** Extras not worth a column in the table (still in latest.json). */
const HIDDEN_EXTRAS = new Set(['count', 'p999Us', 'maxUs', 'meanUs', 'durability', 'events', 'inFlight', 'page', 'bytesRead', 'samples', 'loadedPerSecond']);

/** "p50 120 µs, p99 900 µs, sockets 1" */
export function extraText(extra) {
  if (!extra) return '';
  const parts = [];
  for (const [key, value] of Object.entries(extra)) {
    if (HIDDEN_EXTRAS.has(key) || value === null || value === undefined) continue;
    if (key.endsWith('Us')) parts.push(`${EXTRA_LABELS[key] ?? key.slice(0, -2)} ${human(value)} µs`);
    else parts.push(`${key} ${typeof value === 'number' ? human(value) : value}`);
  }
  return parts.join(', ');
}

export function metText(met) {
  return met === true ? 'met' : met === false ? 'MISSED' : met === null ? 'n/a' : '';
}

/** The cells of one row, shared by the terminal and the Markdown table. */
export function rowCells(r) {
  const value = r.skipped ? `skipped: ${r.skipped}` : r.error ? `error: ${r.error}` : human(r.value);
  return {
    scenario: r.scenario,
    system: r.system,
    value,
    unit: r.unit,
    ratio: r.reference && r.system !== r.reference ? ratioText(r.ratio) : r.reference === r.system ? 'ref' : '',
    extra: extraText(r.extra),
    goal: r.goal ?? '',
    met: r.goal ? metText(r.met) : '',
  };
}

export const COLUMNS = [
  ['scenario', 'scenario'],
  ['system', 'system'],
  ['value', 'value'],
  ['unit', 'unit'],
  ['ratio', 'vs ref'],
  ['extra', 'extra'],
  ['goal', 'goal'],
  ['met', 'met?'],
];

const RIGHT_ALIGNED = new Set(['value', 'ratio']);

/** A plain-text table for the terminal; the scenario name is printed once per group. */
export function textTable(rows) {
  const cells = rows.map(rowCells);
  cells.forEach((c, i) => {
    if (i > 0 && rows[i - 1].scenario === rows[i].scenario) c.scenario = '';
  });
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...cells.map((c) => c[key].length)));
  const line = (values) =>
    values
      .map((v, i) => (RIGHT_ALIGNED.has(COLUMNS[i][0]) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(COLUMNS.map(([, title]) => title)), widths.map((w) => '-'.repeat(w)).join('  ')];
  cells.forEach((c, i) => {
    if (i > 0 && c.scenario) out.push('');
    out.push(line(COLUMNS.map(([key]) => c[key])));
  });
  return out.join('\n');
}

const mdEscape = (s) => s.replaceAll('|', '\\|');

export function markdownTable(rows) {
  const out = [
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    `|${COLUMNS.map(([key]) => (RIGHT_ALIGNED.has(key) ? '---:' : '---')).join('|')}|`,
  ];
  for (const c of rows.map(rowCells)) {
    const met = c.met === 'MISSED' ? '**missed**' : c.met;
    out.push(`| ${COLUMNS.map(([key]) => mdEscape(key === 'met' ? met : key === 'scenario' ? `\`${c[key]}\`` : c[key])).join(' | ')} |`);
  }
  return out.join('\n');
}
