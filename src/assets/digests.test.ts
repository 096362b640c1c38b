import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hashFile, parseDigests, sha512For } from './digests.ts';
import { checkVersion, parseVersionTxt } from './flatcar.ts';
import { digestsText, testBytes } from './testing.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-digests-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('DIGESTS (catalyst layout)', () => {
  it('reads the SHA512 entry by file name, among MD5 and SHA1 sections', () => {
    const content = Buffer.from('kernel');
    const d = parseDigests(digestsText('flatcar_production_pxe.vmlinuz', content));
    assert.deepEqual([...d.keys()], ['MD5', 'SHA1', 'SHA512']);
    assert.equal(
      sha512For(d, 'flatcar_production_pxe.vmlinuz'),
      crypto.createHash('sha512').update(content).digest('hex'),
    );
    assert.equal(sha512For(d, 'other'), null);
  });
  it('matches entries written with a directory or sha512sum binary marker by base name', () => {
    const d = parseDigests(`# SHA512 HASH\n${'AB'.repeat(64)} *out/dir/x.raw\n`);
    assert.equal(sha512For(d, 'x.raw'), 'ab'.repeat(64));
  });
  it('has no SHA512 when the file lists only weaker hashes', () => {
    assert.equal(sha512For(parseDigests(`# MD5 HASH\n${'0'.repeat(32)}  x\n`), 'x'), null);
  });
});

describe('hashFile', () => {
  it('streams a file larger than one read chunk and equals the one-shot hash', async () => {
    const content = testBytes(3 * 65536 + 17, 'hash');
    const f = path.join(tmp, 'big');
    fs.writeFileSync(f, content);
    assert.deepEqual(await hashFile(f), {
      sha512: crypto.createHash('sha512').update(content).digest('hex'),
      size: content.length,
    });
  });
});

describe('Flatcar versions', () => {
  it('reads FLATCAR_VERSION_ID from version.txt', () => {
    assert.equal(parseVersionTxt('FLATCAR_BUILD=4593\nFLATCAR_VERSION_ID=4593.2.5\n', 'v'), '4593.2.5');
  });
  it('refuses anything that could escape the cache directory', () => {
    assert.throws(() => checkVersion('../../etc', 'x'), { code: 'INVALID_INPUT' });
    assert.throws(() => parseVersionTxt('FLATCAR_VERSION_ID=1.2.3/..\n', 'v'), { code: 'INVALID_INPUT' });
    assert.throws(() => parseVersionTxt('nothing\n', 'v'), { code: 'INVALID_INPUT' });
  });
});
