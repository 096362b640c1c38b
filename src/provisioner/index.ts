export { type ClusterRuntime, IGNITION_TYPE, PREVIEW_BEARER } from './cluster-configs.ts';
export {
  ClusterNodes,
  type ClusterNodesOptions,
  type LeaseReading,
  type NodeOps,
  STALE_CHECK_MS,
} from './cluster-nodes.ts';
export { PENDING_ROLE } from './enrol.ts';
export type { MachineFacts } from './facts.ts';
export {
  BUILTIN_PROFILE,
  DEFAULT_PROFILE_NAME,
  profileFromConfig,
  resolveProfile,
  validateProfile,
} from './profiles.ts';
export {
  type ConfigOutcome,
  type IpxeFacts,
  Provisioner,
  type ProvisionerOptions,
  type ScriptResult,
} from './provisioner.ts';
export { ALARMS, type Refusal, SecretGate } from './secret-gate.ts';
export { ProvisionerService } from './service.ts';
export { render, type TemplateVars } from './template.ts';
