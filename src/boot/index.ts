export { type BinaryNames, type BootTarget, type TargetInputs, chooseTarget } from './binary.ts';
export { type ParamInputs, dhcpBootParams } from './dhcp-params.ts';
export { type FirmwareFacts, type FirmwareKind, detectFirmware, ipxeHasHttp, uuidOf } from './firmware.ts';
export { IPXE_FACTS, type KernelSpec, bootScript, initrdName, kernelScript, waitScript } from './ipxe.ts';
