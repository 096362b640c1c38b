/**
 * The config file's profiles and rules go into the store at every start: the file is
 * authoritative for the names it defines, the API may add others (and its edits to a
 * file-defined name last until the next start).
 */
import type { Config } from './config/index.ts';
import { checkAmbiguity, validateRule } from './inventory/index.ts';
import type { Store } from './inventory/store.ts';
import { profileFromConfig } from './provisioner/index.ts';

export async function seedCatalog(store: Store, config: Config): Promise<void> {
  for (const [name, p] of Object.entries(config.profiles)) await store.putProfile(profileFromConfig(name, p));
  if (config.rules.length === 0) return;
  const byName = new Map((await store.listRules()).map((r) => [r.name, r]));
  for (const r of config.rules) byName.set(r.name, r);
  checkAmbiguity([...byName.values()]);
  for (const r of config.rules) await store.putRule(validateRule(r));
}
