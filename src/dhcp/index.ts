export { ClientArch, type ClientArchName, clientArchName } from './archtypes.ts';
export {
  CLIENT_PORT,
  FLAG_BROADCAST,
  IpxeOpt,
  MessageType,
  type MessageTypeName,
  Op,
  Opt,
  PXE_PORT,
  PxeOpt,
  SERVER_PORT,
} from './constants.ts';
export { FileJournal } from './journal-file.ts';
export { type Lease, type LeaseJournal, type LeaseState, memoryJournal } from './lease.ts';
export {
  decodeSubOptions,
  decodeUserClasses,
  encodeSubOptions,
  encodeUserClasses,
  Options,
} from './options.ts';
export {
  clientMac,
  type DhcpPacket,
  decode,
  encode,
  encodingLength,
  isBroadcast,
  messageType,
} from './packet.ts';
export { Pool, type PoolOptions } from './pool.ts';
export { isPxeClient } from './proxy.ts';
export type { BootParams } from './reply.ts';
export {
  type BootHook,
  type BootQuery,
  type DhcpEvent,
  type DhcpMode,
  DhcpServer,
  type DhcpServerOptions,
  type DhcpStats,
  type LeaseSync,
} from './server.ts';
