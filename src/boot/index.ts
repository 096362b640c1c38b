export { type BinaryNames, type BootTarget, chooseTarget, type TargetInputs } from './binary.ts';
export { dhcpBootParams, type ParamInputs } from './dhcp-params.ts';
export { detectFirmware, type FirmwareFacts, type FirmwareKind, ipxeHasHttp, uuidOf } from './firmware.ts';
export { bootScript, IPXE_FACTS, initrdName, type KernelSpec, kernelScript, waitScript } from './ipxe.ts';
