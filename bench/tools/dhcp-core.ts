/**
 * The DHCP protocol server alone, for bench/dhcp.sh's `metalseed-core` variant: the same
 * DhcpServer, Pool and lease journal (leases.jsonl, fdatasync group commit) as `metalseed
 * serve`, but a fixed boot hook (ipxe.efi for every client) instead of the provisioner, and no
 * inventory, timeline or log. The difference to `metalseed` is what enrolment and timelines
 * cost per DORA. Usage (inside the server namespace): node --import tsx dhcp-core.ts DATADIR
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DhcpServer, FileJournal, Pool } from '../../src/dhcp/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { parseIPv4 } from '../../src/lib/net.ts';
import { openUdp } from '../../src/lib/udp.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: dhcp-core.ts DATADIR');
mkdirSync(dir, { recursive: true });
const ip = (s: string): number => parseIPv4(s) ?? Number.NaN;
const seed = ip('10.77.0.1');
const socket = await openUdp({
  port: 67,
  device: 'bsrv0',
  broadcast: true,
  reuseAddr: true,
  batched: process.env.METALSEED_DHCP_BATCH !== '0', // as serve-dhcp.ts
});
const journal = new FileJournal(join(dir, 'leases.jsonl'), silentLogger);
const pool = new Pool({
  start: ip('10.77.1.0'),
  end: ip('10.77.255.254'),
  reservations: new Map(),
  excluded: new Set([seed]),
  journal,
  now: Date.now,
});
const server = new DhcpServer({
  mode: 'authoritative',
  serverId: seed,
  socket,
  pool,
  subnetMask: ip('255.255.0.0'),
  leaseSeconds: 43_200,
  boot: () => ({ file: 'ipxe.efi', siaddr: seed }),
  logger: silentLogger,
});
process.on('SIGTERM', () => {
  server.close();
  journal.close();
  process.exit(0);
});
