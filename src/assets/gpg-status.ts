/**
 * Judging a detached signature from gpgv's machine-readable `--status-fd` lines, never from
 * its exit code or its human text alone (GnuPG doc/DETAILS, "Format of the --status-fd
 * output"). A signature counts only when gpgv reports VALIDSIG and the primary key behind the
 * signing (sub)key is the pinned one; any BADSIG, ERRSIG or expired/revoked key fails it.
 */

/** Why a signature did not verify. `tampered` is proof of a bad file; the others lack proof. */
export type SigFailure =
  | 'tampered'
  | 'unknown-key'
  | 'wrong-key'
  | 'expired-key'
  | 'revoked-key'
  | 'expired-signature'
  | 'no-signature';

export type SigVerdict =
  | { ok: true; primary: string; signer: string }
  | { ok: false; failure: SigFailure; detail: string };

/** Status keywords that fail a signature outright, and what each means (doc/DETAILS). */
const FAILING: Record<string, SigFailure> = {
  BADSIG: 'tampered',
  ERRSIG: 'unknown-key',
  NO_PUBKEY: 'unknown-key',
  EXPKEYSIG: 'expired-key',
  REVKEYSIG: 'revoked-key',
  EXPSIG: 'expired-signature',
};
/** The first failure found wins; BADSIG first, since it is the one that proves tampering. */
const FAILING_ORDER = ['BADSIG', 'EXPKEYSIG', 'REVKEYSIG', 'EXPSIG', 'NO_PUBKEY', 'ERRSIG'] as const;

const STATUS_PREFIX = '[GNUPG:] ';

/** `[GNUPG:] KEYWORD args…` lines as word arrays; other lines are ignored. */
export function parseStatus(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(STATUS_PREFIX))
    .map((l) => l.slice(STATUS_PREFIX.length).trim().split(' '));
}

/**
 * VALIDSIG <sig-fpr> <date> <timestamp> <expire> <version> <reserved> <pk-algo> <hash-algo>
 * <class> [<primary-fpr>]: the primary fingerprint is word 10 (gpg 2.x always prints it).
 */
const VALIDSIG_PRIMARY = 10;

export function judgeSignature(status: string[][], exitCode: number, pinned: string): SigVerdict {
  const want = normalizeFingerprint(pinned);
  for (const kw of FAILING_ORDER) {
    const line = status.find((w) => w[0] === kw);
    if (line) return { ok: false, failure: FAILING[kw]!, detail: line.join(' ') };
  }
  const valid = status.filter((w) => w[0] === 'VALIDSIG');
  if (valid.length === 0 || exitCode !== 0) {
    const nodata = status.find((w) => w[0] === 'NODATA');
    return {
      ok: false,
      failure: 'no-signature',
      detail: nodata ? `no signature data (${nodata.join(' ')})` : `gpgv exited ${exitCode} without VALIDSIG`,
    };
  }
  const primaries = valid.map((w) => normalizeFingerprint(w[VALIDSIG_PRIMARY] ?? w[1] ?? ''));
  const i = primaries.indexOf(want);
  if (i < 0) {
    return { ok: false, failure: 'wrong-key', detail: `signed by key ${primaries.join(', ')}, not ${want}` };
  }
  return { ok: true, primary: want, signer: normalizeFingerprint(valid[i]![1] ?? '') };
}

/** Upper-case hex without spaces: `F88C FEDE …` and `f88cfede…` name the same key. */
export function normalizeFingerprint(f: string): string {
  return f.replace(/\s+/g, '').toUpperCase();
}

/** Ten groups of four, as gpg prints fingerprints for humans. */
export function formatFingerprint(f: string): string {
  return (normalizeFingerprint(f).match(/.{1,4}/g) ?? []).join(' ');
}

export const FINGERPRINT_RE = /^[0-9A-F]{40}$/;
