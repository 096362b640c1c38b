export { type CheckpointReport, checkpointFailureLog } from './checkpointer.ts';
export { openStore, STORE_THREAD_MIN_CPUS, storeOnItsOwnThread } from './open-store.ts';
export {
  checkAmbiguity,
  type MatchFacts,
  type Resolved,
  resolve,
  selectRule,
  validateRule,
} from './rules.ts';
export type { ArmState, InventoryService, MachinePatch, Preview } from './service.ts';
export type { EventQuery, MachineKeys, Store } from './store.ts';
export { MemoryStore } from './store-memory.ts';
export { openSqliteStore, SqliteStore } from './store-sqlite.ts';
export { WorkerStore } from './store-worker.ts';
export {
  MACHINE_STATES,
  type Machine,
  type MachineState,
  type NewTimelineEvent,
  type ProfileSpec,
  type Rule,
  type RuleMatch,
  type RuleSet,
  type TimelineEvent,
} from './types.ts';
