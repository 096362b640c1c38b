/**
 * Crash-safe file publication: data goes to a temporary file in the same directory (created
 * with its final mode, so a key is never readable by others even for an instant), is fsync'd,
 * then put in place and the directory fsync'd. `replace: false` publishes with link(2), which
 * fails if the name exists: two seeds starting at once can never overwrite each other's CA.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string, mode: number, opts: { replace: boolean }): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.fchmodSync(fd, mode); // the umask may have narrowed it; never widened beyond `mode`
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (opts.replace) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  syncDir(dir);
}

/** mkdir -p with `mode`, and tighten an existing directory to it (a pre-made dir may be 0755). */
export function ensurePrivateDir(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  fs.chmodSync(dir, mode);
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
