/**
 * Machine identity: ids and generated hostnames. A machine is identified by any of its MACs,
 * its SMBIOS UUID or its serial; the id is derived once, from the first identifier seen, so
 * it is stable and the same machine enrolled twice (two seeds, a wiped store) gets the same id.
 */
import crypto from 'node:crypto';
import type { Mac } from '../lib/net.ts';

/** SMBIOS placeholders that many boards ship instead of a real UUID or serial. */
const JUNK_IDS = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '03000200-0400-0500-0006-000700080009', // common AMI default
  'to be filled by o.e.m.',
  'default string',
  'system serial number',
  'not specified',
  '0',
  '',
]);

export function usableId(v: string | undefined): string | undefined {
  const t = v?.trim().toLowerCase();
  return t && !JUNK_IDS.has(t) ? t : undefined;
}

/** One-shot SHA-256 (crypto.hash, Node >= 20.12: a quarter of createHash's cost), else createHash. */
const sha256Hex: (s: string) => string =
  typeof crypto.hash === 'function'
    ? (s) => crypto.hash('sha256', s, 'hex')
    : (s) => crypto.createHash('sha256').update(s).digest('hex');

export function machineId(first: { mac?: Mac; uuid?: string; serial?: string }): string {
  const key = first.uuid ? `uuid:${first.uuid}` : first.mac ? `mac:${first.mac}` : `serial:${first.serial}`;
  return `m-${sha256Hex(key).slice(0, 12)}`;
}

/** "worker-3f2a1c": the role plus the id's first six hex digits; stable and unique enough. */
export function generatedHostname(role: string, id: string): string {
  const base =
    role
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '') || 'machine';
  return `${base.slice(0, 40)}-${id.slice(2, 8)}`;
}
