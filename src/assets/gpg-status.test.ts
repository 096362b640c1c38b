/** Verdicts from status lines captured from gpgv 2.2.40 (subkey signatures, as Flatcar's are). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFingerprint, judgeSignature, normalizeFingerprint, parseStatus } from './gpg-status.ts';

const PRIMARY = 'D833EFD4CF136A0603BD65794C9274B5932E022A';
const SUBKEY = '5BEF09911DBDB48B0A666ACC75845E97957C626C';

const GOOD = `[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED ${PRIMARY} 0
[GNUPG:] SIG_ID OoEsg4FSDd+LhY2Dm7zsu/Po3Z4 2026-11-28 1795892275
[GNUPG:] KEY_CONSIDERED ${PRIMARY} 0
[GNUPG:] GOODSIG 75845E97957C626C Test Signer <t@example.invalid>
[GNUPG:] VALIDSIG ${SUBKEY} 2026-11-28 1795892275 0 4 0 22 8 00 ${PRIMARY}
`;
const BAD = `[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED ${PRIMARY} 0
[GNUPG:] BADSIG 75845E97957C626C Test Signer <t@example.invalid>
`;
const UNKNOWN = `[GNUPG:] NEWSIG
[GNUPG:] ERRSIG 1111222233334444 22 8 00 1795892275 9 AAAABBBBCCCCDDDDEEEEFFFF1111222233334444
[GNUPG:] NO_PUBKEY 1111222233334444
`;

describe('judgeSignature', () => {
  it('accepts VALIDSIG whose primary fingerprint is the pinned one, naming the signing subkey', () => {
    assert.deepEqual(judgeSignature(parseStatus(GOOD), 0, PRIMARY.toLowerCase()), {
      ok: true,
      primary: PRIMARY,
      signer: SUBKEY,
    });
  });
  it('a good signature by another primary key is wrong-key', () => {
    const v = judgeSignature(parseStatus(GOOD), 0, 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.failure, 'wrong-key');
  });
  it('BADSIG is tampering, whatever else is reported', () => {
    const v = judgeSignature(parseStatus(GOOD + BAD), 1, PRIMARY);
    assert.equal(!v.ok && v.failure, 'tampered');
  });
  it('ERRSIG with NO_PUBKEY is an unknown key', () => {
    const v = judgeSignature(parseStatus(UNKNOWN), 2, PRIMARY);
    assert.equal(!v.ok && v.failure, 'unknown-key');
  });
  it('an expired signing key fails even though gpgv prints VALIDSIG', () => {
    const expired = GOOD.replace('GOODSIG', 'EXPKEYSIG');
    const v = judgeSignature(parseStatus(expired), 0, PRIMARY);
    assert.equal(!v.ok && v.failure, 'expired-key');
  });
  it('no status at all, or a non-zero exit without failure lines, is no signature', () => {
    assert.equal(judgeSignature([], 2, PRIMARY).ok, false);
    const v = judgeSignature(parseStatus(GOOD), 2, PRIMARY);
    assert.equal(!v.ok && v.failure, 'no-signature');
    assert.equal(!v.ok && v.failure, 'no-signature');
  });
  it('human text without the [GNUPG:] prefix is ignored', () => {
    assert.deepEqual(parseStatus('gpgv: Good signature from "x"\nVALIDSIG forged\n'), []);
  });
});

describe('fingerprints', () => {
  it('normalizes spaced and lower-case forms and prints groups of four', () => {
    const spaced = 'F88C FEDE FF29 A5B4 D952 3864 E25D 9AED 0593 B34A';
    assert.equal(normalizeFingerprint(spaced.toLowerCase()), 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
    assert.equal(formatFingerprint('F88CFEDEFF29A5B4D9523864E25D9AED0593B34A'), spaced);
  });
});
