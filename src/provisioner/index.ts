export { PENDING_ROLE } from './enrol.ts';
export type { MachineFacts } from './facts.ts';
export {
  BUILTIN_PROFILE,
  DEFAULT_PROFILE_NAME,
  profileFromConfig,
  resolveProfile,
  validateProfile,
} from './profiles.ts';
export { type IpxeFacts, Provisioner, type ProvisionerOptions, type ScriptResult } from './provisioner.ts';
export { ProvisionerService } from './service.ts';
export { render, type TemplateVars } from './template.ts';
