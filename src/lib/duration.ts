/** Durations in config files: "90s", "10m", "1h", "1d", "1h30m" or plain seconds. */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const PART_RE = /(\d+)([smhd])/gy;

/** Returns seconds, or null when `s` is not a duration. */
export function parseDuration(s: string | number): number | null {
  if (typeof s === 'number') return Number.isInteger(s) && s >= 0 ? s : null;
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (t === '') return null;
  PART_RE.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART_RE.exec(t); m; m = PART_RE.exec(t)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    end = PART_RE.lastIndex;
  }
  return end === t.length ? total : null;
}
