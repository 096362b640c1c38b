import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { loadOrCreateToken, TOKEN_FILE, tokenCheck } from './token.ts';

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-token-'));
  made.push(dir);
  return dir;
}

test('first start writes a 0600 base64url token of 32 bytes; later starts read the same one', () => {
  const dir = path.join(tempDir(), 'data'); // not yet created: the seed creates it
  const first = loadOrCreateToken(dir);
  const file = path.join(dir, TOKEN_FILE);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(first.token, 'base64url').length, 32);
  assert.equal(fs.readFileSync(file, 'utf8'), `${first.token}\n`);
  const second = loadOrCreateToken(dir);
  assert.equal(second.token, first.token);
  assert.ok(second.check(first.token));
});

test('two data dirs get different tokens', () => {
  assert.notEqual(loadOrCreateToken(tempDir()).token, loadOrCreateToken(tempDir()).token);
});

test('an operator-written token is used as is (surrounding whitespace ignored)', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, TOKEN_FILE), '  my-own-token \n');
  assert.equal(loadOrCreateToken(dir).token, 'my-own-token');
});

test('an empty token file is an error with a fix, not an empty password', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, TOKEN_FILE), '\n');
  assert.throws(
    () => loadOrCreateToken(dir),
    (e) => e instanceof MetalseedError && e.code === 'CONFIG_INVALID' && /delete it/.test(e.hint ?? ''),
  );
});

test('tokenCheck accepts only the exact token, whatever the length presented', () => {
  const check = tokenCheck('s3cret');
  assert.ok(check('s3cret'));
  for (const wrong of [undefined, '', 's3cre', 's3cret ', 'S3CRET', 's3cret'.repeat(100)]) {
    assert.equal(check(wrong), false, String(wrong));
  }
});
