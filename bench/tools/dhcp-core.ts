/**
 * The DHCP protocol server alone, for bench/dhcp.sh's `metalseed-core` variant: the same
 * DhcpServer, Pool and lease journal (leases.jsonl, fdatasync group commit) as `metalseed
 * serve`, but a fixed boot hook (ipxe.efi for every client) instead of the provisioner, and no
 * inventory, timeline or log. The difference to `metalseed` is what enrolment and timelines
 * cost per DORA. Usage (inside the server namespace): node --import tsx dhcp-core.ts DATADIR
 */
import { mkdirSync } from 'node:fs';
import { openUdp } from '../../src/lib/udp.ts';
import { BENCH_SEED, benchDhcpServer } from './bench-dhcp.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: dhcp-core.ts DATADIR');
mkdirSync(dir, { recursive: true });
const socket = await openUdp({
  port: 67,
  device: 'bsrv0',
  broadcast: true,
  reuseAddr: true,
  batched: process.env.METALSEED_DHCP_BATCH !== '0', // as serve-dhcp.ts
});
const { server, journal } = benchDhcpServer({
  dir,
  socket,
  boot: () => ({ file: 'ipxe.efi', siaddr: BENCH_SEED }),
});
process.on('SIGTERM', () => {
  server.close();
  journal.close();
  process.exit(0);
});
