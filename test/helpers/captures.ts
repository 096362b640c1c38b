/** Loads the packets recorded from real firmware in test/fixtures/captures (see its README). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CapturedPacket {
  proto: 'dhcp' | 'tftp';
  dir: 'client->server' | 'server->client';
  src: string;
  dst: string;
  summary: string;
  bytes: Uint8Array;
}

export const CAPTURE_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'captures',
);

export function loadCapture(name: string): CapturedPacket[] {
  const doc = JSON.parse(fs.readFileSync(path.join(CAPTURE_DIR, `${name}.json`), 'utf8')) as {
    packets: (Omit<CapturedPacket, 'bytes'> & { hex: string })[];
  };
  return doc.packets.map(({ hex, ...p }) => ({ ...p, bytes: Uint8Array.from(Buffer.from(hex, 'hex')) }));
}

export function captureNames(): string[] {
  return fs
    .readdirSync(CAPTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Deterministic pseudo-random bytes (xorshift32), so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
