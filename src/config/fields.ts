/**
 * Small typed readers for config values. Each takes the value and its key path and either
 * returns the typed value or throws a `ConfigError` naming the path and what is expected.
 */
import { parseDuration } from '../lib/duration.ts';
import { type Mac, parseIPv4, parseMac } from '../lib/net.ts';
import { ConfigError } from './errors.ts';

export type Path = readonly (string | number)[];
export type Obj = Record<string, unknown>;

export function obj(v: unknown, path: Path): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ConfigError(path, `expected a mapping, got ${kind(v)}`);
  return v as Obj;
}

/** Rejects keys the schema does not know, suggesting the closest known one. */
export function knownKeys(o: Obj, path: Path, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (keys.includes(k)) continue;
    const near = keys.find((x) => editDistance(x.toLowerCase(), k.toLowerCase()) <= 2);
    throw new ConfigError(
      [...path, k],
      `unknown key${near ? `; did you mean "${near}"?` : ''} (known: ${keys.join(', ')})`,
    );
  }
}

export function str(v: unknown, path: Path, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(path, `expected a non-empty string, got ${kind(v)}`);
  return v;
}

export function optStr(v: unknown, path: Path): string | null {
  return v === undefined || v === null ? null : str(v, path, '');
}

export function bool(v: unknown, path: Path, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(path, `expected true or false, got ${kind(v)}`);
  return v;
}

export function int(v: unknown, path: Path, dflt: number, min: number, max: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function oneOf<T extends string>(v: unknown, path: Path, values: readonly T[], dflt: T): T {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw new ConfigError(path, `expected one of ${values.join(' | ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function ipv4(v: unknown, path: Path): number {
  const ip = typeof v === 'string' ? parseIPv4(v) : null;
  if (ip === null)
    throw new ConfigError(path, `expected an IPv4 address like 192.168.0.1, got ${JSON.stringify(v)}`);
  return ip;
}

export function optIpv4(v: unknown, path: Path): number | null {
  return v === undefined || v === null ? null : ipv4(v, path);
}

export function mac(v: unknown, path: Path): Mac {
  const m = typeof v === 'string' ? parseMac(v) : null;
  if (m === null)
    throw new ConfigError(
      path,
      `expected a MAC address like "52:54:00:00:00:01" (quoted), got ${JSON.stringify(v)}`,
    );
  return m;
}

export function duration(v: unknown, path: Path, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  const s = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : null;
  if (s === null || s <= 0)
    throw new ConfigError(path, `expected a duration like 90s, 10m, 1h or 1d, got ${JSON.stringify(v)}`);
  return s;
}

export function list(v: unknown, path: Path): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${kind(v)}`);
  return v;
}

/** A string or a list of strings (kernel args may be written either way). */
export function strings(v: unknown, path: Path, dflt: readonly string[]): string[] {
  if (v === undefined || v === null) return [...dflt];
  if (typeof v === 'string') return v.split(/\s+/).filter((x) => x !== '');
  return list(v, path).map((x, i) => str(x, [...path, i], ''));
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}
