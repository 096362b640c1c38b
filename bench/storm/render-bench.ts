/**
 * In-process Ignition renders/s: `Provisioner.renderConfigFor` over N enrolled machines (the
 * storm's identities), round-robin, for a few seconds. No HTTP, no store writes: the renderer's
 * own rate, to compare with the end-to-end rate storm.ts measures over HTTP.
 */
import { parseArgs } from 'node:util';
import { parseConfigText } from '../../src/config/index.ts';
import { MemoryStore } from '../../src/inventory/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { mustIPv4 } from '../../src/lib/net.ts';
import { Provisioner } from '../../src/provisioner/index.ts';
import { seedCatalog } from '../../src/seed-catalog.ts';
import { machineIdentity } from './clients.ts';

const { values: a } = parseArgs({
  options: { machines: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '3' } },
});
const n = Number(a.machines);
const seconds = Number(a.seconds);

const store = new MemoryStore();
const config = parseConfigText('defaultRole: worker\n', 'storm.yaml');
await seedCatalog(store, config);
const p = await Provisioner.create({
  config,
  advertise: mustIPv4('10.99.0.1'),
  store,
  tftpExists: () => true,
  logger: silentLogger,
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

let bytes = 0;
const warm = performance.now() + 500; // let the JIT settle before counting
for (let i = 0; performance.now() < warm; i++) p.renderConfigFor(machines[i % n]!);
let count = 0;
const start = performance.now();
const end = start + seconds * 1000;
while (performance.now() < end) {
  for (let k = 0; k < 100; k++) bytes = p.renderConfigFor(machines[count++ % n]!)?.body.length ?? 0;
}
const elapsed = (performance.now() - start) / 1000;
console.log(
  JSON.stringify({
    machines: n,
    renders: count,
    seconds: elapsed,
    rendersPerSecond: Math.round(count / elapsed),
    bytes,
  }),
);
