/** Placeholder until the TFTP server lands. */
import type { Config } from './config/index.ts';
import type { Logger } from './lib/log.ts';
import type { Provisioner } from './provisioner/index.ts';
export async function startTftp(_c: Config, _root: string, _p: Provisioner, _l: Logger): Promise<() => void> {
  return () => {};
}
