/**
 * The DHCP server both bench tools run (dhcp-core.ts on a real socket, dhcp-inproc.ts on a fake
 * one): bench/dhcp.sh's pool 10.77.1.0–10.77.255.254/16 behind the seed 10.77.0.1, 12-h leases,
 * journaled to DIR/leases.jsonl with fdatasync group commit, as `metalseed serve` does
 * (MS_LEASE_SYNC=after-reply: dhcp.leaseSync after-reply).
 */
import { join } from 'node:path';
import { type BootHook, type DhcpEvent, DhcpServer, FileJournal, Pool } from '../../src/dhcp/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { mustIPv4 } from '../../src/lib/net.ts';
import type { UdpSocket } from '../../src/lib/udp.ts';

export const BENCH_SEED = mustIPv4('10.77.0.1');

export function benchDhcpServer(o: {
  dir: string;
  socket: UdpSocket;
  boot: BootHook;
  onEvent?: (ev: DhcpEvent) => void;
}): { server: DhcpServer; journal: FileJournal; pool: Pool } {
  const journal = new FileJournal(join(o.dir, 'leases.jsonl'), silentLogger);
  const pool = new Pool({
    start: mustIPv4('10.77.1.0'),
    end: mustIPv4('10.77.255.254'),
    reservations: new Map(),
    excluded: new Set([BENCH_SEED]),
    journal,
    now: Date.now,
  });
  const server = new DhcpServer({
    mode: 'authoritative',
    serverId: BENCH_SEED,
    socket: o.socket,
    pool,
    subnetMask: mustIPv4('255.255.0.0'),
    leaseSeconds: 43_200,
    leaseSync: process.env.MS_LEASE_SYNC === 'after-reply' ? 'after-reply' : 'before-reply',
    boot: o.boot,
    logger: silentLogger,
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
  return { server, journal, pool };
}
