/**
 * Statistics for bench reports: medians over repetitions and per-repetition ratios. On a shared
 * machine absolute figures drift between repetitions, so a ratio is taken inside each
 * repetition (both servers measured minutes apart at most) and the median of those is reported.
 */

/** Median of the finite numbers; NaN when there are none. */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of the finite numbers; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const rank = Math.min(xs.length, Math.max(1, Math.ceil((p / 100) * xs.length)));
  return xs[rank - 1]!;
}

/** One measured value: repetition, server, test, metric. */
export interface Sample {
  rep: string;
  server: string;
  test: string;
  metric: string;
  value: number;
}

/**
 * Median over repetitions of value(server) / value(reference), using only repetitions that
 * measured both with a non-zero reference. NaN when no repetition qualifies.
 */
export function medianRatio(samples: readonly Sample[], server: string, reference: string): number {
  return median(ratiosByRep(samples, server, reference));
}

/** value(server) / value(reference) of each repetition that measured both (non-zero reference). */
export function ratiosByRep(samples: readonly Sample[], server: string, reference: string): number[] {
  const byRep = new Map<string, { s?: number; r?: number }>();
  for (const x of samples) {
    const e = byRep.get(x.rep) ?? {};
    if (x.server === server) e.s = x.value;
    if (x.server === reference) e.r = x.value;
    byRep.set(x.rep, e);
  }
  const ratios: number[] = [];
  for (const { s, r } of byRep.values()) {
    if (s !== undefined && r !== undefined && r !== 0 && Number.isFinite(s) && Number.isFinite(r))
      ratios.push(s / r);
  }
  return ratios;
}

/** Parses the bench TSV (header: rep server test metric value note); unparsable values are NaN. */
export function parseResults(tsv: string): Sample[] {
  const lines = tsv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift()?.split('\t') ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`results file: missing column "${name}" (header: ${header.join(', ')})`);
    return i;
  };
  const [rep, server, test, metric, value] = ['rep', 'server', 'test', 'metric', 'value'].map(col) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return lines
    .filter((l) => !l.startsWith('rep\t')) // header lines of appended files
    .map((l) => {
      const f = l.split('\t');
      const raw = f[value]?.trim() ?? '';
      return {
        rep: f[rep] ?? '',
        server: f[server] ?? '',
        test: f[test] ?? '',
        metric: f[metric] ?? '',
        value: raw === '' || raw === 'NA' ? Number.NaN : Number(raw),
      };
    });
}

/** Three significant digits, thousands kept whole: 0.0123, 1.23, 123, 4567. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toString();
  return Number(x.toPrecision(3)).toString();
}
