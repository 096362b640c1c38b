/** The in-memory fake against the shared Store suite: it must behave like the real store. */

import { storeConformance } from './store.conformance.ts';
import { MemoryStore } from './store-memory.ts';

storeConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});
