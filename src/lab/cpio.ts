/**
 * A newc ("070701") cpio writer, the format the kernel unpacks an initramfs from
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written here instead of
 * running `cpio` so the image needs no staging tree: device nodes (/dev/console) go in as
 * entries, with no mknod and so no need to be root to build one.
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function header(ino: number, mode: number, size: number, name: string, rdev = [0, 0]): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [
    ino,
    mode,
    0, // uid: root
    0, // gid
    1, // nlink
    0, // mtime: fixed, so the same inputs give the same bytes
    size,
    0, // devmajor
    0, // devminor
    rdev[0] ?? 0,
    rdev[1] ?? 0,
    nameBytes.length,
    0, // check (unused by newc)
  ];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  // The name is padded so that header + name ends on a 4-byte boundary.
  return Buffer.concat([head, nameBytes, pad4(head.length + nameBytes.length)]);
}

/** The archive bytes (uncompressed), entries in the given order, ending with TRAILER!!!. */
export function newc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    let mode: number;
    let data: Buffer = Buffer.alloc(0);
    let rdev = [0, 0];
    switch (e.kind) {
      case 'dir':
        mode = S_IFDIR | (e.mode ?? 0o755);
        break;
      case 'file':
        mode = S_IFREG | (e.mode ?? 0o644);
        data = e.data;
        break;
      case 'symlink':
        mode = S_IFLNK | 0o777;
        data = Buffer.from(e.target);
        break;
      case 'char':
        mode = S_IFCHR | (e.mode ?? 0o600);
        rdev = [e.major, e.minor];
        break;
    }
    parts.push(header(ino++, mode, data.length, name, rdev), data, pad4(data.length));
  }
  parts.push(header(0, 0, 0, 'TRAILER!!!'));
  return Buffer.concat(parts);
}
