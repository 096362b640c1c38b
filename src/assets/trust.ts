/**
 * `assets trust KEYFILE`: the seed's keyring holds exactly the pinned signing key, imported
 * from a file the operator brings (the seed may have no internet access to fetch it).
 */
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import { FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT } from './flatcar.ts';
import { DEFAULT_GPG, type GpgBinaries, type KeyInfo, trustKey } from './gpg.ts';
import { FINGERPRINT_RE, normalizeFingerprint } from './gpg-status.ts';
import { KEYRING_FILE } from './install.ts';

export interface TrustOptions {
  /** Default: the Flatcar image signing key. */
  fingerprint?: string;
  /** Default `dest/trusted.gpg`. */
  keyring?: string;
  gpg?: GpgBinaries;
}

export async function trustSigningKey(
  keyFile: string,
  dest: string,
  o: TrustOptions = {},
): Promise<KeyInfo & { keyring: string }> {
  const fingerprint = checkFingerprint(o.fingerprint ?? FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT);
  const keyring = o.keyring ?? path.join(dest, KEYRING_FILE);
  const info = await trustKey(keyFile, keyring, fingerprint, o.gpg ?? DEFAULT_GPG);
  return { ...info, keyring };
}

/** A full 40-hex-digit v4 fingerprint: short key IDs collide and are never accepted. */
export function checkFingerprint(f: string): string {
  const n = normalizeFingerprint(f);
  if (!FINGERPRINT_RE.test(n)) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `"${f}" is not a full key fingerprint (40 hex digits)`,
      'copy the fingerprint as `gpg --show-keys --with-fingerprint KEYFILE` prints it',
    );
  }
  return n;
}
