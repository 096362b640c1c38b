/**
 * The lab's state file: what `lab up` created, so that `status`, `console`, `boot` and `down`
 * (separate invocations) find the namespaces, the processes and the machines again. Written
 * atomically (temp file + rename) after every change, so a crash leaves the last good state.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { MetalseedError } from '../lib/errors.ts';
import type { Firmware } from './firmware.ts';
import type { Namespaces } from './layout.ts';
import type { ProcRecord } from './procs.ts';

export const STATE_VERSION = 1;

export interface LabMachine {
  name: string;
  /** 1-based; MAC and tap name derive from it (layout.ts). */
  index: number;
  mac: string;
  firmware: Firmware;
  tap: string;
  /** QEMU's serial port, written as a file (`lab console`). */
  serialLog: string;
  /** QEMU's own stdout/stderr. */
  qemuLog: string;
  /** Per-machine copy of the OVMF variable store (UEFI only). */
  vars?: string;
  /** Guest RAM in MiB. */
  memoryMib?: number;
  proc?: ProcRecord;
  /** When QEMU was started: power-on, for power-on → provisioned times. */
  poweredOnAt?: string;
}

export interface LabState {
  version: typeof STATE_VERSION;
  prefix: string;
  createdAt: string;
  namespaces: Namespaces;
  seed?: ProcRecord;
  proxy?: ProcRecord;
  machines: LabMachine[];
}

export function readState(file: string): LabState | null {
  if (!existsSync(file)) return null;
  let v: LabState;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as LabState;
  } catch (err) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `lab state ${file} is unreadable: ${(err as Error).message}`,
      'remove it after checking `ip netns list` for the lab namespaces',
    );
  }
  if (v.version !== STATE_VERSION) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `lab state ${file} has version ${String(v.version)}, this metalseed knows ${STATE_VERSION}`,
      'run `lab down` with the metalseed that brought the lab up',
    );
  }
  return v;
}

export function writeState(file: string, state: LabState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
