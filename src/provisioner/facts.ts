/** What a packet or request tells about the machine behind it. */
import type { Mac } from '../lib/net.ts';

export interface MachineFacts {
  mac: Mac;
  uuid?: string;
  serial?: string;
  firmware?: string;
  arch?: string;
  address?: string;
  /** Other SMBIOS facts from iPXE (manufacturer, product, asset), kept as labels-to-be. */
  hardware?: Record<string, string>;
}
