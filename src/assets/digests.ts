/**
 * Flatcar's `<image>.DIGESTS` files, in the Gentoo catalyst layout: a `# <ALGO> HASH` heading,
 * then `<hex>  <file name>` lines, for MD5, SHA1, SHA512 and others. Only SHA512 is used: the
 * weaker ones add nothing once it matches. Hashing streams the file, so a 400 MB initrd is
 * never held in memory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** Algorithm heading (upper case, as in the file) → its entries by file name. */
export type Digests = Map<string, Map<string, string>>;

const HEADING_RE = /^#\s*([A-Z0-9_-]+)\s+HASH\s*$/i;
const ENTRY_RE = /^([0-9a-fA-F]+)\s+\*?(\S.*)$/;

export function parseDigests(text: string): Digests {
  const out: Digests = new Map();
  let algo: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const h = HEADING_RE.exec(line);
    if (h) {
      algo = h[1]!.toUpperCase();
      if (!out.has(algo)) out.set(algo, new Map());
      continue;
    }
    const e = ENTRY_RE.exec(line);
    if (e && algo) out.get(algo)!.set(baseName(e[2]!), e[1]!.toLowerCase());
  }
  return out;
}

/** The expected SHA512 of `name`, or null when the DIGESTS file lists none. */
export function sha512For(d: Digests, name: string): string | null {
  return d.get('SHA512')?.get(name) ?? null;
}

/** Lowercase hex SHA512 and size of a file, read as a stream. */
export async function hashFile(file: string): Promise<{ sha512: string; size: number }> {
  const { hex, size } = await fileDigest(file, 'sha512');
  return { sha512: hex, size };
}

/** Lowercase hex digest and size of a file, read as a stream. */
export async function fileDigest(
  file: string,
  algorithm: 'sha256' | 'sha512',
): Promise<{ hex: string; size: number }> {
  const h = crypto.createHash(algorithm);
  let size = 0;
  await pipeline(fs.createReadStream(file), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) {
      size += chunk.length;
      h.update(chunk);
    }
  });
  return { hex: h.digest('hex'), size };
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
