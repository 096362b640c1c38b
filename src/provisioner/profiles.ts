/**
 * Profiles: what a machine boots. A machine's profile is its own `profile`, else a profile
 * named after its role, else the built-in default (Flatcar PXE).
 */
import { type Config, defaults, type ProfileConfig } from '../config/index.ts';

export const DEFAULT_PROFILE_NAME = 'default';

export interface ResolvedProfile {
  name: string;
  spec: ProfileConfig;
}

export function resolveProfile(config: Config, role: string, explicit?: string): ResolvedProfile {
  for (const name of [explicit, role]) {
    const spec = name !== undefined ? config.profiles[name] : undefined;
    if (name !== undefined && spec) return { name, spec };
  }
  const d = defaults.DEFAULT_PROFILE;
  return {
    name: DEFAULT_PROFILE_NAME,
    spec: { kernel: d.kernel, initrds: [...d.initrds], args: [...d.args], efiBinary: d.efiBinary },
  };
}
