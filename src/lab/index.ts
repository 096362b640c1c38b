export { bootImageUnavailable } from './boot-image.ts';
export { labDown } from './down.ts';
export { FIRMWARES, MIXED } from './firmware.ts';
export { DEFAULT_DIR, DEFAULT_PREFIX, PREFIX_RE } from './layout.ts';
export { type LabStatus, labConsole, labStatus, statusLines } from './status.ts';
export { labBoot, labUp } from './up.ts';
export type { MachineResult } from './watch.ts';
