/** A provisioner on a MemoryStore, configured like `serve` would be, for in-process tests. */
import { parseConfigText } from '../../src/config/index.ts';
import { MemoryStore } from '../../src/inventory/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { mustIPv4 } from '../../src/lib/net.ts';
import { type ClusterRuntime, Provisioner } from '../../src/provisioner/index.ts';
import { seedCatalog } from '../../src/seed-catalog.ts';

export async function testProvisioner(
  yaml = '',
  start = Date.parse('2026-11-28T10:00:00Z'),
  cluster?: ClusterRuntime,
) {
  const store = new MemoryStore();
  const config = parseConfigText(yaml, 'test.yaml');
  await seedCatalog(store, config);
  let t = start;
  const p = await Provisioner.create({
    config,
    advertise: mustIPv4('10.0.0.1'),
    store,
    tftpExists: () => true,
    logger: silentLogger,
    ...(cluster ? { cluster } : {}),
    now: () => {
      t += 10; // every step 10 ms after the one before: durations are deterministic
      return new Date(t);
    },
  });
  return { p, store };
}
