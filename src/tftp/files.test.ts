import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { type FileSource, memoryFileSource, normaliseName, rootFileSource } from './files.ts';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

async function readAll(src: FileSource, name: string): Promise<string | null> {
  const f = await src.open(name);
  if (!f) return null;
  try {
    return text(await f.read(0, f.size));
  } finally {
    await f.close();
  }
}

const isDenied = (err: unknown): boolean => err instanceof MetalseedError && err.code === 'ACCESS_DENIED';

describe('tftp file names', () => {
  it('strips leading slashes and normalises backslashes', () => {
    assert.equal(normaliseName('/undionly.kpxe'), 'undionly.kpxe');
    assert.equal(normaliseName('//boot//./ipxe.efi'), 'boot/ipxe.efi');
    assert.equal(normaliseName('\\boot\\pxelinux.0'), 'boot/pxelinux.0');
  });

  it('refuses parent segments, NUL and empty names', () => {
    for (const bad of ['../etc/passwd', 'a/../../b', '..\\x', 'boot/..', 'a\0b', '/', '.']) {
      assert.throws(() => normaliseName(bad), isDenied, JSON.stringify(bad));
    }
    assert.equal(normaliseName('a..b'), 'a..b', 'dots inside a name are fine');
  });
});

describe('rootFileSource', () => {
  let dir: string;
  let root: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metalseed-tftp-files-'));
    root = join(dir, 'root');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(root, 'undionly.kpxe'), 'kpxe');
    await writeFile(join(root, 'sub', 'b.efi'), 'efi');
    await writeFile(join(dir, 'secret'), 'secret');
    await symlink('sub/b.efi', join(root, 'inside-link'));
    await symlink('../secret', join(root, 'escape-link'));
    await symlink('/etc/passwd', join(root, 'abs-link'));
    await symlink(dir, join(root, 'dir-escape'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves files under the root, with firmware-style names', async () => {
    const src = rootFileSource(root);
    assert.equal(await readAll(src, 'undionly.kpxe'), 'kpxe');
    assert.equal(await readAll(src, '/undionly.kpxe'), 'kpxe');
    assert.equal(await readAll(src, '\\sub\\b.efi'), 'efi');
    assert.equal(await readAll(src, 'inside-link'), 'efi', 'a symlink inside the root is fine');
  });

  it('returns null for missing files', async () => {
    const src = rootFileSource(root);
    assert.equal(await src.open('nope'), null);
    assert.equal(await src.open('undionly.kpxe/x'), null);
    assert.equal(await src.open('/etc/passwd'), null, 'absolute paths are relative to the root');
  });

  it('refuses traversal, symlink escapes and directories', async () => {
    const src = rootFileSource(root);
    for (const name of [
      '../secret',
      'sub/../../secret',
      'escape-link',
      'abs-link',
      'dir-escape/secret',
      'sub',
    ]) {
      await assert.rejects(src.open(name), isDenied, name);
    }
  });

  it('follows an escaping symlink only when the operator trusts that name (Debian ipxe.efi)', async () => {
    const src = rootFileSource(root, { trustedLinks: ['escape-link'] });
    assert.equal(await readAll(src, '/escape-link'), 'secret');
    await assert.rejects(src.open('abs-link'), isDenied, 'other escaping links stay refused');
    await assert.rejects(src.open('dir-escape/secret'), isDenied, 'trust is per name, not per directory');
  });

  it('reads ranges, short at the end of the file', async () => {
    await writeFile(join(root, 'big.bin'), Buffer.alloc(10_000, 1));
    for (const src of [rootFileSource(root), rootFileSource(root, { cacheFileBytes: 0 })]) {
      const f = await src.open('big.bin');
      assert.ok(f);
      assert.equal(f.size, 10_000);
      assert.equal((await f.read(9_000, 4_000)).length, 1_000);
      assert.equal((await f.read(10_000, 512)).length, 0);
      await f.close();
    }
  });

  it('caches small files and notices when they change', async () => {
    const p = join(root, 'cached.bin');
    await writeFile(p, 'one');
    const src = rootFileSource(root, { revalidateMs: 0 });
    assert.equal(await readAll(src, 'cached.bin'), 'one');
    const first = await src.open('cached.bin');
    const second = await src.open('cached.bin');
    assert.ok(first && second);
    assert.equal((await first.read(0, 3)).buffer, (await second.read(0, 3)).buffer, 'same cached buffer');
    await writeFile(p, 'two!');
    await utimes(p, new Date(), new Date(Date.now() + 5000));
    assert.equal(await readAll(src, 'cached.bin'), 'two!');
  });

  it('re-checks a cached file at most once per revalidation window', async () => {
    const p = join(root, 'window.bin');
    await writeFile(p, 'old');
    let clock = 0;
    const src = rootFileSource(root, { revalidateMs: 2000, now: () => clock });
    assert.equal(await readAll(src, 'window.bin'), 'old');
    await writeFile(p, 'new!');
    await utimes(p, new Date(), new Date(Date.now() + 5000));
    clock = 1999;
    assert.equal(await readAll(src, '/window.bin'), 'old', 'within the window: served from memory unchecked');
    clock = 2000;
    assert.equal(await readAll(src, 'window.bin'), 'new!', 'after it: the change is seen');
    await rm(p);
    clock = 3000;
    assert.equal(await readAll(src, 'window.bin'), 'new!', 'still within the new window');
    clock = 4000;
    assert.equal(await readAll(src, 'window.bin'), null, 'a removed file is gone after the window');
  });

  it('keeps the cache within its total budget', async () => {
    await writeFile(join(root, 'c1'), 'aaaa');
    await writeFile(join(root, 'c2'), 'bbbb');
    const src = rootFileSource(root, { cacheTotalBytes: 6 });
    assert.equal(await readAll(src, 'c1'), 'aaaa');
    assert.equal(await readAll(src, 'c2'), 'bbbb');
    assert.equal(await readAll(src, 'c1'), 'aaaa');
  });
});

describe('memoryFileSource', () => {
  it('serves its files by normalised name', async () => {
    const src = memoryFileSource({ 'a/b': Buffer.from('x') });
    assert.equal(await readAll(src, '/a\\b'), 'x');
    assert.equal(await src.open('c'), null);
    await assert.rejects(src.open('../a/b'), isDenied);
  });
});
