/**
 * In-process Ignition renders/s: `Provisioner.renderConfigFor` over N enrolled machines (the
 * storm's identities), round-robin, for a few seconds. No HTTP, no store writes: the renderer's
 * own rate, to compare with the end-to-end rate storm.ts measures over HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateSeedTls, openClusterPki } from '../../src/cluster/index.ts';
import { parseConfigText } from '../../src/config/index.ts';
import { MemoryStore } from '../../src/inventory/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { mustIPv4 } from '../../src/lib/net.ts';
import { Provisioner, SecretGate } from '../../src/provisioner/index.ts';
import { seedCatalog } from '../../src/seed-catalog.ts';
import { machineIdentity } from './clients.ts';

const { values: a } = parseArgs({
  options: { machines: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '3' } },
});
const n = Number(a.machines);
const seconds = Number(a.seconds);
const WARMUP = 1000;

// The storm's seed config: a cluster with a known endpoint, so workers render their node config
// (kubeadm JoinConfiguration, modules, sysctls, report unit), built the way main.ts builds it.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-render-'));
const config = parseConfigText(
  `dataDir: ${dataDir}\ndefaultRole: worker\ncluster: { controlPlaneEndpoint: "10.100.0.5:6443" }\n`,
  'storm.yaml',
);
const store = new MemoryStore();
await seedCatalog(store, config);
const pki = await openClusterPki(config);
const tls = await loadOrCreateSeedTls(pki.dir, '10.99.0.1', new Date());
const p = await Provisioner.create({
  config,
  advertise: mustIPv4('10.99.0.1'),
  store,
  tftpExists: () => true,
  logger: silentLogger,
  cluster: {
    spec: config.cluster,
    identity: pki.pki,
    caCertHash: pki.pki.caCertHash,
    bootstrapToken: () => pki.pki.bootstrapToken,
    seedCaPem: tls.caPem,
    secretsBaseUrl: null,
    sysext: () => undefined,
    gate: new SecretGate(Date.now),
  },
});
const machines = Array.from({ length: n }, (_, i) => {
  const id = machineIdentity(i);
  return p.machineFor({
    mac: id.mac,
    uuid: id.uuid,
    firmware: 'bios',
    address: `10.100.${i >> 8}.${i & 255}`,
  });
});
await p.flush();

// JIT warm-up on other machines, so the cold pass measures rendering, not compilation
for (let i = n; i < n + WARMUP; i++) {
  const id = machineIdentity(i);
  p.renderConfigFor(p.machineFor({ mac: id.mac, uuid: id.uuid, firmware: 'bios', address: '10.100.99.1' }));
}
// Cold: every machine's first render (nothing memoized yet), as in a boot storm.
let bytes = 0;
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
const coldStart = performance.now();
const coldCpu0 = process.cpuUsage();
for (const m of machines) bytes = p.renderConfigFor(m)?.body.length ?? 0;
const coldSeconds = (performance.now() - coldStart) / 1000;
const coldCpu = cpuSeconds(coldCpu0);
// Warm: the same machines again, round-robin (re-fetches, retries, previews).
let count = 0;
const start = performance.now();
const warmCpu0 = process.cpuUsage();
const end = start + seconds * 1000;
while (performance.now() < end) {
  for (let k = 0; k < 100; k++) p.renderConfigFor(machines[count++ % n]!);
}
const elapsed = (performance.now() - start) / 1000;
const warmCpu = cpuSeconds(warmCpu0);
fs.rmSync(dataDir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    machines: n,
    bytes,
    coldRendersPerSecond: Math.round(n / coldSeconds),
    warmRendersPerSecond: Math.round(count / elapsed),
    // per CPU second: what one core does when other processes do not compete for it
    coldRendersPerCpuSecond: Math.round(n / coldCpu),
    warmRendersPerCpuSecond: Math.round(count / warmCpu),
  }),
);
