/**
 * The operator API token: one shared secret in the data directory, created on first start.
 * The CLI on the seed host reads the same file, so "who may read the data dir" is "who may
 * operate the seed" (DESIGN.md, security model).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';

/** Constant-time check of a presented bearer token. */
export type TokenCheck = (presented: string | undefined) => boolean;

export const TOKEN_FILE = 'api-token';
/** 256 bits: as strong as the TLS keys that will eventually carry it; base64url is header-safe. */
const TOKEN_BYTES = 32;
/** Owner-only: anyone who can read the token can reprovision every machine. */
const TOKEN_MODE = 0o600;

export function loadOrCreateToken(dataDir: string): { token: string; check: TokenCheck } {
  const file = path.join(dataDir, TOKEN_FILE);
  const token = readToken(file) ?? createToken(dataDir, file);
  return { token, check: tokenCheck(token) };
}

function readToken(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MetalseedError('CONFIG_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') {
    throw new MetalseedError('CONFIG_INVALID', `${file} is empty`, 'delete it to generate a new token');
  }
  return token;
}

function createToken(dataDir: string, file: string): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  try {
    // 'wx': never overwrite a token another process wrote between our read and this write
    fs.writeFileSync(file, `${token}\n`, { mode: TOKEN_MODE, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(file)!;
    throw new MetalseedError('CONFIG_UNREADABLE', `cannot write ${file}: ${(err as Error).message}`);
  }
  return token;
}

/**
 * Compares SHA-256 digests rather than the strings: `timingSafeEqual` needs equal lengths, and
 * hashing first means neither the comparison time nor an early length check reveals anything.
 */
export function tokenCheck(token: string): TokenCheck {
  const want = digest(token);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), want);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
