/**
 * Starts the TFTP server for `main.ts`: the listener, the per-transfer socket factory and the
 * file source rooted at `tftp.root`. Each finished transfer becomes a `tftp.done` event with
 * the machine's MAC (known from its DHCP lease).
 */
import type { Config } from './config/index.ts';
import type { Logger } from './lib/log.ts';
import { openUdp } from './lib/udp.ts';
import type { Provisioner } from './provisioner/index.ts';
import { createTftpServer, rootFileSource } from './tftp/index.ts';

export async function startTftp(config: Config, root: string, provisioner: Provisioner, logger: Logger): Promise<() => void> {
  const socket = await openUdp({ port: config.tftp.port, reuseAddr: true });
  const server = createTftpServer({
    socket,
    openTransferSocket: openUdp,
    files: rootFileSource(root),
    logger,
    limits: { maxBlksize: config.tftp.blksizeMax, maxWindowsize: config.tftp.windowsizeMax },
    onTransfer: (ev) => {
      const fields = {
        event: ev.outcome === 'done' ? 'tftp.done' : `tftp.${ev.outcome}`,
        mac: provisioner.macOf(ev.peer.address),
        file: ev.file,
        bytes: ev.bytes,
        ms: Math.round(ev.ms),
        blksize: ev.blksize,
        windowsize: ev.windowsize,
        peer: `${ev.peer.address}:${ev.peer.port}`,
        ...(ev.reason ? { reason: ev.reason } : {}),
      };
      if (ev.outcome === 'done') logger.info(fields, fields.event);
      else logger.warn(fields, fields.event);
    },
  });
  return () => server.close();
}
