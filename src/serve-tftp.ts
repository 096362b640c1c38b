/**
 * Starts the TFTP server for `main.ts`: the listener, the per-transfer socket factory and the
 * file source rooted at `tftp.root`. Its events carry the machine's MAC, known from DHCP.
 */
import type { Config } from './config/index.ts';
import type { Logger } from './lib/log.ts';
import { openUdp } from './lib/udp.ts';
import type { Provisioner } from './provisioner/index.ts';
import { createTftpServer, rootFileSource, type TftpServer } from './tftp/index.ts';

export async function startTftp(
  config: Config,
  root: string,
  provisioner: Provisioner,
  logger: Logger,
): Promise<{ server: TftpServer; close: () => void }> {
  const socket = await openUdp({ port: config.tftp.port, reuseAddr: true });
  const server = createTftpServer({
    socket,
    openTransferSocket: openUdp,
    // the configured iPXE binaries are the operator's choice, even as symlinks out of the root
    files: rootFileSource(root, { trustedLinks: Object.values(config.tftp.binaries) }),
    logger,
    limits: { maxBlksize: config.tftp.blksizeMax, maxWindowsize: config.tftp.windowsizeMax },
    onTransfer: (ev) => {
      const type = ev.outcome === 'done' ? 'tftp.done' : `tftp.${ev.outcome}`;
      if (ev.reason?.startsWith('aborted_after_oack')) return; // UEFI's tsize probe, not a boot step
      const data = {
        file: ev.file,
        bytes: ev.bytes,
        blksize: ev.blksize,
        windowsize: ev.windowsize,
        ...(ev.reason ? { reason: ev.reason } : {}),
      };
      provisioner.stepByAddress(ev.peer.address, type, data, ev.ms);
    },
    describePeer: (peer) => {
      const mac = provisioner.macOf(peer.address);
      return mac ? { mac } : {};
    },
  });
  return { server, close: () => server.close() };
}
