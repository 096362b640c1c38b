/** Public surface of the TFTP server: a protocol library with no knowledge of machines. */
export {
  type FileSource,
  memoryFileSource,
  type OpenFile,
  type RootFileSourceOptions,
  rootFileSource,
} from './files.ts';
export {
  DEFAULT_MAX_BLKSIZE,
  DEFAULT_MAX_WINDOWSIZE,
  type Negotiation,
  type NegotiationLimits,
  negotiate,
  type TransferParams,
} from './options.ts';
export * as tftpPacket from './packet.ts';
export { type Packet, TftpErrorCode, TftpOpcode, type TftpOptions } from './packet.ts';
export {
  createTftpServer,
  DEFAULT_TFTP_LIMITS,
  type TftpLimits,
  type TftpServer,
  type TftpServerOptions,
} from './server.ts';
export {
  DROP_REASONS,
  type DropReason,
  REFUSAL_REASONS,
  type RefusalReason,
  type TftpStats,
} from './stats.ts';
export type { TransferEvent, TransferOutcome } from './transfer.ts';
