/**
 * Starts the DHCP server for `main.ts`: sockets bound to the provisioning interface, the pool
 * with its lease journal in `dataDir`, and the provisioner as boot hook and event listener.
 */
import path from 'node:path';
import type { Config } from './config/index.ts';
import { DhcpServer, FileJournal, Pool } from './dhcp/index.ts';
import { MetalseedError } from './lib/errors.ts';
import type { Logger } from './lib/log.ts';
import type { Mac } from './lib/net.ts';
import { openUdp, type UdpSocket } from './lib/udp.ts';
import type { Provisioner } from './provisioner/index.ts';

export interface NetworkFacts {
  advertise: number;
  netmask: number;
  range: { start: number; end: number } | null;
}

export async function startDhcp(
  config: Config,
  net: NetworkFacts,
  provisioner: Provisioner,
  logger: Logger,
): Promise<{ server: DhcpServer; close: () => void }> {
  const mode = config.dhcp.mode;
  if (mode === 'off') throw new Error('startDhcp called with dhcp.mode off');
  if (!config.interface) {
    throw new MetalseedError(
      'CONFIG_INVALID',
      `dhcp.mode ${mode} needs "interface"`,
      'set "interface" or dhcp.mode: off',
    );
  }
  const closers: (() => void)[] = [];
  // recvmmsg/sendmmsg through native/dhcp_batch.c when built; METALSEED_DHCP_BATCH=0 reads
  // through dgram instead (to compare, bench/dhcp.sh)
  const batched = process.env.METALSEED_DHCP_BATCH !== '0';
  const open = async (port: number): Promise<UdpSocket> => {
    const s = await openUdp({ port, device: config.interface!, broadcast: true, reuseAddr: true, batched });
    closers.push(() => s.close());
    return s;
  };
  try {
    const socket = await open(67);
    const pxeSocket = mode === 'proxy' ? await open(4011) : undefined;
    let pool: Pool | undefined;
    if (mode === 'authoritative') {
      if (!net.range) {
        throw new MetalseedError(
          'CONFIG_INVALID',
          'dhcp.range is required',
          'e.g. range: 192.168.0.100-192.168.0.199',
        );
      }
      const journal = new FileJournal(path.join(config.dataDir, 'leases.jsonl'), logger);
      closers.push(() => journal.close());
      const reservations = new Map<Mac, number>(
        config.machines.flatMap((m) => (m.ip !== undefined ? [[m.mac, m.ip]] : [])),
      );
      const excluded = new Set([net.advertise, ...(config.dhcp.router !== null ? [config.dhcp.router] : [])]);
      pool = new Pool({ ...net.range, reservations, excluded, journal, now: Date.now });
    }
    const server = new DhcpServer({
      mode,
      serverId: net.advertise,
      socket,
      ...(pxeSocket ? { pxeSocket } : {}),
      ...(pool ? { pool } : {}),
      subnetMask: net.netmask,
      ...(config.dhcp.router !== null ? { router: config.dhcp.router } : {}),
      dns: config.dhcp.dns,
      ...(config.dhcp.domain ? { domain: config.dhcp.domain } : {}),
      leaseSeconds: config.dhcp.leaseTime,
      leaseSync: config.dhcp.leaseSync,
      boot: provisioner.dhcpBoot,
      logger,
      onEvent: provisioner.onDhcpEvent,
    });
    return {
      server,
      close: () => {
        for (const c of closers.reverse()) c();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) c();
    throw err;
  }
}
