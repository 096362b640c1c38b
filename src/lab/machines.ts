/**
 * One lab machine: a tap on the lab's bridge, a copy of the OVMF variables for UEFI, and a
 * QEMU process (TCG) in the switch namespace whose serial port is written to a file.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Firmware, isUefi, OVMF_VARS, qemuArgs } from './firmware.ts';
import { machineMac, machineName, type Namespaces, tapName } from './layout.ts';
import { addTap } from './network.ts';
import { spawnInNs } from './procs.ts';
import type { LabMachine } from './state.ts';

export function nextIndex(machines: LabMachine[]): number {
  return machines.reduce((n, m) => Math.max(n, m.index), 0) + 1;
}

/** The machine's record, before it is powered on. */
export function describeMachine(
  index: number,
  firmware: Firmware,
  machineDir: string,
  memoryMib?: number,
): LabMachine {
  const name = machineName(index);
  const m: LabMachine = {
    name,
    index,
    mac: machineMac(index),
    firmware,
    tap: tapName(index),
    serialLog: join(machineDir, `${name}.serial.log`),
    qemuLog: join(machineDir, `${name}.qemu.log`),
  };
  if (isUefi(firmware)) m.vars = join(machineDir, `${name}.OVMF_VARS.fd`);
  if (memoryMib !== undefined) m.memoryMib = memoryMib;
  return m;
}

/** Creates the tap and starts QEMU; fills in `proc` and `poweredOnAt`. */
export function powerOn(ns: Namespaces, m: LabMachine): void {
  addTap(ns, m.tap);
  // each UEFI machine needs its own writable variable store (boot entries, PXE settings)
  if (m.vars) copyFileSync(OVMF_VARS, m.vars);
  writeFileSync(m.serialLog, '');
  const args = qemuArgs(m);
  m.proc = spawnInNs(ns.switch, 'qemu-system-x86_64', args, m.qemuLog, `qemu ${m.name}`);
  m.poweredOnAt = new Date().toISOString();
}
