/**
 * The first-boot report a machine POSTs to /report: JSON or a form (busybox wget
 * --post-data). Unknown fields are dropped and strings bounded: the report lands on the
 * timeline and must not let a machine store arbitrary data there.
 */
export interface FirstBootReport {
  hostname?: string;
  address?: string;
  result: 'ok' | 'failed' | 'unknown';
  detail?: string;
  files?: string[];
}

const MAX_STRING = 256;
const MAX_FILES = 200;

export function parseReport(body: unknown): FirstBootReport {
  const o = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, MAX_STRING) : undefined);
  const r: FirstBootReport = { result: 'unknown' };
  const result = s(o.result ?? o.ignition);
  if (result === 'ok' || result === 'failed') r.result = result;
  const hostname = s(o.hostname);
  if (hostname) r.hostname = hostname;
  const address = s(o.address ?? o.ip);
  if (address && /^[\d.]+$/.test(address)) r.address = address;
  const detail = s(o.detail);
  if (detail) r.detail = detail;
  const files = Array.isArray(o.files) ? o.files : typeof o.files === 'string' ? o.files.split(/[\s,]+/) : [];
  const kept = files
    .map(s)
    .filter((f): f is string => f !== undefined)
    .slice(0, MAX_FILES);
  if (kept.length > 0) r.files = kept;
  return r;
}
