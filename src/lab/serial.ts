/**
 * Milestones from a machine's serial console, for the live timeline: what the seed cannot see
 * (firmware starting, the kernel running /init, Ignition's stages). Reads the file QEMU writes
 * incrementally, by offset, so following several machines costs one small read per poll.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Lines worth showing, and how to show them. */
const MILESTONES: readonly (readonly [RegExp, (m: RegExpExecArray) => string])[] = [
  [/>>Start PXE over IPv4/, () => 'firmware PXE (OVMF) started'],
  [/iPXE initialising devices/, () => 'iPXE started'],
  // the iPXE scripts' own echo lines (boot/ipxe.ts, seed-config.ts)
  [/^metalseed(?: lab)?: (.*)$/, (m) => `iPXE: ${m[1]}`],
  [
    /METALSEED-LAB\[[\d.]+\]: ignition result=(\S+) hostname=(\S*)/,
    (m) => `ignition ${m[1]}, hostname ${m[2]}`,
  ],
  [/METALSEED-LAB\[[\d.]+\]: (.*)$/, (m) => m[1]!],
  [/Kernel panic - (.*)$/, (m) => `KERNEL PANIC: ${m[1]}`],
];
const MAX_LINE = 100;
const READ_CHUNK = 1 << 16;

export function milestone(line: string): string | null {
  for (const [re, show] of MILESTONES) {
    const m = re.exec(line);
    if (m) {
      const s = show(m);
      return s.length > MAX_LINE ? `${s.slice(0, MAX_LINE - 1)}…` : s;
    }
  }
  return null;
}

/** Escape sequences and carriage returns that SeaBIOS, OVMF and iPXE write to the console. */
export function plain(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are control characters
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r/g, '');
}

export class SerialTail {
  private offset = 0;
  private partial = '';

  constructor(private readonly file: string) {}

  /** Milestones in the lines written since the last call. */
  poll(): string[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size <= this.offset) return [];
    const fd = openSync(this.file, 'r');
    let text = '';
    try {
      const buf = Buffer.alloc(READ_CHUNK);
      while (this.offset < size) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        text += buf.subarray(0, n).toString('latin1');
      }
    } finally {
      closeSync(fd);
    }
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map((l) => milestone(plain(l).trim())).filter((m): m is string => m !== null);
  }
}
