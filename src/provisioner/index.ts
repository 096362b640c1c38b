export { ConfigMachines, type MachineView } from './machines.ts';
export { DEFAULT_PROFILE_NAME, type ResolvedProfile, resolveProfile } from './profiles.ts';
export { type IpxeFacts, Provisioner, type ProvisionerOptions, type ScriptResult } from './provisioner.ts';
export { render, type TemplateVars } from './template.ts';
