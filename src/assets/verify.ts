/**
 * What vouches for one staged file. Two routes, each ending at the pinned key:
 *   - `<name>.sig`, a detached signature over the file (booting-with-pxe.md: `gpg --verify`);
 *   - `<name>.DIGESTS` whose SHA512 entry matches, with `<name>.DIGESTS.sig` verifying
 *     (security/supply-chain.md: every image has .DIGESTS and .DIGESTS.sig).
 * Either route verifies the file. Findings come in two kinds: `refused` is evidence that the
 * bytes are wrong (BAD signature, digest mismatch) and no `force` overrides it; `unverified`
 * is a missing proof (no .sig, unknown or wrong key, no keyring) that `force` may accept.
 */
import fs from 'node:fs';
import { hashFile, parseDigests, sha512For } from './digests.ts';
import { type GpgBinaries, verifySignature } from './gpg.ts';
import type { SigFailure, SigVerdict } from './gpg-status.ts';
import type { VerifiedBy } from './manifest.ts';

export const SIG_SUFFIX = '.sig';
export const DIGESTS_SUFFIX = '.DIGESTS';

export interface Finding {
  kind: 'refused' | 'unverified';
  message: string;
}

export interface Verification {
  file: string;
  size: number;
  sha512: string;
  verifiedBy: VerifiedBy;
  findings: Finding[];
}

export interface VerifyContext {
  keyring: string;
  fingerprint: string;
  gpg?: GpgBinaries;
}

/** Checks `dir/name` against whatever sidecars sit beside it in `dir`. */
export async function verifyStaged(dir: string, name: string, ctx: VerifyContext): Promise<Verification> {
  const file = `${dir}/${name}`;
  const { sha512, size } = await hashFile(file);
  const v: Verification = { file: name, size, sha512, verifiedBy: {}, findings: [] };
  const haveKeyring = fs.existsSync(ctx.keyring);

  const sig = `${file}${SIG_SUFFIX}`;
  if (!fs.existsSync(sig)) {
    v.findings.push({ kind: 'unverified', message: `no signature: ${name}${SIG_SUFFIX} was not found` });
  } else if (haveKeyring) {
    const verdict = await verifySignature({ ...sigOpts(ctx), file, sig });
    if (verdict.ok) v.verifiedBy.gpg = verdict.primary;
    else v.findings.push(sigFinding(`${name}${SIG_SUFFIX}`, name, verdict));
  }

  const digests = `${file}${DIGESTS_SUFFIX}`;
  if (fs.existsSync(digests)) {
    const want = sha512For(parseDigests(fs.readFileSync(digests, 'utf8')), name);
    if (want !== null && want !== sha512) {
      v.findings.push({
        kind: 'refused',
        message: `SHA512 mismatch: ${name} hashes to ${short(sha512)}, ${name}${DIGESTS_SUFFIX} says ${short(want)}`,
      });
    } else if (want !== null && haveKeyring) {
      const dsig = `${digests}${SIG_SUFFIX}`;
      if (fs.existsSync(dsig)) {
        const verdict = await verifySignature({ ...sigOpts(ctx), file: digests, sig: dsig });
        if (verdict.ok) v.verifiedBy.digests = 'sha512';
        else
          v.findings.push(
            sigFinding(`${name}${DIGESTS_SUFFIX}${SIG_SUFFIX}`, `${name}${DIGESTS_SUFFIX}`, verdict),
          );
      }
    }
  }
  if (!haveKeyring) {
    v.findings.push({ kind: 'unverified', message: `no trusted key: keyring ${ctx.keyring} does not exist` });
  }
  return v;
}

/** Verified when a route reached the pinned key and nothing proved the bytes wrong. */
export function isVerified(v: Verification): boolean {
  return (v.verifiedBy.gpg !== undefined || v.verifiedBy.digests !== undefined) && !isRefused(v);
}

export function isRefused(v: Verification): boolean {
  return v.findings.some((f) => f.kind === 'refused');
}

function sigOpts(ctx: VerifyContext) {
  return { keyring: ctx.keyring, fingerprint: ctx.fingerprint, ...(ctx.gpg ? { gpg: ctx.gpg } : {}) };
}

const SIG_MESSAGES: Record<SigFailure, string> = {
  tampered: 'BAD signature: the file does not match its signature (corrupted or tampered)',
  'unknown-key': 'signed by a key that is not in the trusted keyring',
  'wrong-key': 'signed by a trusted key other than the pinned one',
  'expired-key': 'signed by an expired key',
  'revoked-key': 'signed by a revoked key',
  'expired-signature': 'the signature has expired',
  'no-signature': 'the signature file holds no usable signature',
};

function sigFinding(sigName: string, name: string, verdict: Exclude<SigVerdict, { ok: true }>): Finding {
  return {
    kind: verdict.failure === 'tampered' ? 'refused' : 'unverified',
    message: `${name}: ${SIG_MESSAGES[verdict.failure]} (${sigName}: ${verdict.detail})`,
  };
}

function short(hex: string): string {
  return `${hex.slice(0, 16)}…`;
}
