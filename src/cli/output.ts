/**
 * Byte-stable command output: the same data prints the same bytes, so output can be diffed,
 * committed and asserted in tests. JSON and YAML sort object keys; tables have a fixed column
 * order; callers sort rows before rendering.
 */
import { stringify } from 'yaml';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

/** Gap between table columns, as kubectl prints them. */
const COLUMN_GAP = '   ';

/** Prints `data` as JSON or YAML, or calls `table` for the human format. */
export function print(format: Format, data: unknown, table: () => string): void {
  process.stdout.write(render(format, data, table));
}

export function render(format: Format, data: unknown, table: () => string): string {
  if (format === 'json') return `${JSON.stringify(sortKeys(data), null, 2)}\n`;
  if (format === 'yaml') return stringify(sortKeys(data), { lineWidth: 0 });
  return table();
}

/** A copy with every object's keys in code-point order (arrays keep their order). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Columns padded to their widest cell; the last one unpadded, so no line ends in spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join(COLUMN_GAP)
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** `key: value` lines with aligned values, for one object. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join('\n') + '\n';
}

/** `a=1,b=2` in key order; `-` when empty. */
export function pairs(o: Record<string, unknown> | undefined, prefix = ''): string {
  const keys = Object.keys(o ?? {}).sort();
  return keys.length === 0 ? '-' : keys.map((k) => `${prefix}${k}=${String(o![k])}`).join(',');
}

/** Compares by each key in turn; for sorting rows deterministically. */
export function byKeys<T>(...keys: ((x: T) => string | number)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = k(a);
      const y = k(b);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}
