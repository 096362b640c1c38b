/**
 * Pure accounting for the boot storm: per-step latency samples and percentiles, failures by
 * step and reason, duplicate addresses, and the printed table. No I/O, so the unit tests in
 * test/bench/storm-stats.test.ts can check every number it prints.
 */

/** The steps of one machine's boot, in chain order (what the table lists). */
export const STEPS = [
  'dhcp.pxe',
  'tftp',
  'dhcp.ipxe',
  'http.boot_ipxe',
  'http.ipxe',
  'http.ignition',
  'http.report',
  'total',
] as const;
export type Step = (typeof STEPS)[number];

/**
 * Nearest-rank percentile (the smallest sample with at least p% of samples at or below it);
 * `sorted` must be ascending. Undefined for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface StepSummary {
  step: Step;
  ok: number;
  failed: number;
  p50?: number;
  p99?: number;
  max?: number;
  /** Retransmissions the clients needed in this step (DHCP/TFTP), over all machines. */
  retries: number;
}

/** Collects what the machines report; `summary()` turns it into the table's rows. */
export class StormStats {
  private readonly samples = new Map<Step, number[]>();
  private readonly failures = new Map<Step, Map<string, number>>();
  private readonly retries = new Map<Step, number>();
  /** address → MACs that were ACKed it (more than one MAC is a duplicate). */
  private readonly holders = new Map<string, Set<string>>();

  ok(step: Step, ms: number): void {
    const s = this.samples.get(step) ?? [];
    this.samples.set(step, s);
    s.push(ms);
  }

  fail(step: Step, reason: string): void {
    const f = this.failures.get(step) ?? new Map<string, number>();
    this.failures.set(step, f.set(reason, (f.get(reason) ?? 0) + 1));
  }

  retry(step: Step, n = 1): void {
    this.retries.set(step, (this.retries.get(step) ?? 0) + n);
  }

  /** A DHCPACK gave `mac` the address `ip`; one MAC acked twice with one address is no duplicate. */
  address(mac: string, ip: string): void {
    this.holders.set(ip, (this.holders.get(ip) ?? new Set<string>()).add(mac));
  }

  /** Addresses ACKed to more than one machine, with the MACs that hold each. */
  duplicates(): { ip: string; macs: string[] }[] {
    const out: { ip: string; macs: string[] }[] = [];
    for (const [ip, macs] of this.holders) if (macs.size > 1) out.push({ ip, macs: [...macs].sort() });
    return out.sort((a, b) => a.ip.localeCompare(b.ip));
  }

  failureReasons(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [step, reasons] of this.failures) out[step] = Object.fromEntries(reasons);
    return out;
  }

  summary(): StepSummary[] {
    return STEPS.map((step) => {
      const s = [...(this.samples.get(step) ?? [])].sort((a, b) => a - b);
      let failed = 0;
      for (const n of this.failures.get(step)?.values() ?? []) failed += n;
      const row: StepSummary = { step, ok: s.length, failed, retries: this.retries.get(step) ?? 0 };
      const p50 = percentile(s, 50);
      const p99 = percentile(s, 99);
      if (p50 !== undefined) row.p50 = p50;
      if (p99 !== undefined) row.p99 = p99;
      if (s.length > 0) row.max = s[s.length - 1]!;
      return row;
    });
  }
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));

/** A fixed-width text table of the step summaries (ms). */
export function formatTable(rows: readonly StepSummary[]): string {
  const head = ['step', 'ok', 'failed', 'retries', 'p50 ms', 'p99 ms', 'max ms'];
  const body = rows.map((r) => [
    r.step,
    String(r.ok),
    String(r.failed),
    String(r.retries),
    ms(r.p50),
    ms(r.p99),
    ms(r.max),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** "missed by X" wording for a target: how far a measured value is from it, in percent. */
export function versusTarget(
  measured: number,
  target: number,
  better: 'lower' | 'higher',
): { met: boolean; text: string } {
  const met = better === 'lower' ? measured < target : measured >= target;
  const off = better === 'lower' ? measured / target - 1 : 1 - measured / target;
  const text = met ? 'met' : `missed by ${(off * 100).toFixed(0)}%`;
  return { met, text };
}
