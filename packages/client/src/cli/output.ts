/**
 * What the CLI prints: tables for people, or one JSON object per line with --json. Everything goes
 * through one Output so that a command never mixes the two.
 */
export interface Output {
  readonly json: boolean;
  /** One record: a JSON line with --json, else the given human text (when there is any). */
  record(value: Record<string, unknown>, human?: string): void;
  /** Rows under a header, columns aligned; with --json each row is a JSON line. */
  table(rows: Array<Record<string, unknown>>, columns: readonly string[]): void;
  /** A line for people only (skipped with --json), e.g. a summary. */
  note(text: string): void;
}

export function createOutput(write: (text: string) => void, json: boolean): Output {
  return {
    json,
    record(value, human) {
      if (json) write(`${JSON.stringify(value)}\n`);
      else if (human !== undefined) write(`${human}\n`);
    },
    table(rows, columns) {
      if (json) {
        for (const row of rows) write(`${JSON.stringify(row)}\n`);
        return;
      }
      const cells = rows.map((row) => columns.map((column) => cellText(row[column])));
      const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index]!.length)));
      const line = (values: readonly string[]): string =>
        values.map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index]!))).join('  ').trimEnd();
      write(`${line(columns.map((column) => column.toUpperCase()))}\n`);
      for (const row of cells) write(`${line(row)}\n`);
    },
    note(text) {
      if (!json) write(`${text}\n`);
    },
  };
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.join(',');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}
