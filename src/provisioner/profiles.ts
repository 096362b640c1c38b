/**
 * Profiles: what a machine boots and which config it gets. A machine's profile is its own
 * `profile`, else a profile named after its role, else the built-in default (Flatcar PXE with
 * the role's Ignition). Profiles come from the config file and from the API (stored).
 */
import { defaults, type ProfileConfig } from '../config/index.ts';
import type { ProfileSpec } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';

export const DEFAULT_PROFILE_NAME = 'default';

export function profileFromConfig(name: string, p: ProfileConfig): ProfileSpec {
  return {
    name,
    kernel: p.kernel,
    initrds: [...p.initrds],
    args: [...p.args],
    efiBinary: p.efiBinary,
    config: { kind: 'ignition-role' },
  };
}

export const BUILTIN_PROFILE: ProfileSpec = profileFromConfig(DEFAULT_PROFILE_NAME, {
  ...defaults.DEFAULT_PROFILE,
  initrds: [...defaults.DEFAULT_PROFILE.initrds],
  args: [...defaults.DEFAULT_PROFILE.args],
  config: { kind: 'ignition-role' },
});

export function resolveProfile(
  profiles: ReadonlyMap<string, ProfileSpec>,
  role: string,
  explicit?: string,
): ProfileSpec {
  for (const name of [explicit, role]) {
    const p = name === undefined ? undefined : profiles.get(name);
    if (p) return p;
  }
  return profiles.get(DEFAULT_PROFILE_NAME) ?? BUILTIN_PROFILE;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Validates an untrusted profile (API JSON). Errors name the field. */
export function validateProfile(v: unknown, name: string): ProfileSpec {
  const bad = (field: string, why: string) =>
    new MetalseedError('INVALID_INPUT', `profiles[${name}].${field}: ${why}`);
  if (!NAME_RE.test(name)) throw bad('name', 'must match [a-z0-9][a-z0-9-]{0,62}');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('', 'expected an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['name', 'kernel', 'initrds', 'args', 'efiBinary', 'config'].includes(k))
      throw bad(k, 'unknown field');
  }
  const strs = (x: unknown, field: string): string[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x) || x.some((s) => typeof s !== 'string'))
      throw bad(field, 'expected a list of strings');
    return x as string[];
  };
  if (typeof o.kernel !== 'string' || o.kernel === '')
    throw bad('kernel', 'expected a URL (templates allowed)');
  const efi = o.efiBinary ?? 'ipxe';
  if (efi !== 'ipxe' && efi !== 'snponly') throw bad('efiBinary', 'expected ipxe or snponly');
  return {
    name,
    kernel: o.kernel,
    initrds: strs(o.initrds, 'initrds'),
    args: strs(o.args, 'args'),
    efiBinary: efi,
    config: configOf(o.config, bad),
  };
}

function configOf(v: unknown, bad: (f: string, w: string) => Error): ProfileSpec['config'] {
  if (v === undefined) return { kind: 'ignition-role' };
  const c = v as Record<string, unknown>;
  if (c.kind === 'ignition-role') return { kind: 'ignition-role' };
  if (c.kind !== 'template') throw bad('config.kind', 'expected ignition-role or template');
  if (c.format !== 'ignition' && c.format !== 'cloud-config' && c.format !== 'plain') {
    throw bad('config.format', 'expected ignition, cloud-config or plain');
  }
  if (typeof c.template !== 'string') throw bad('config.template', 'expected a string');
  return { kind: 'template', format: c.format, template: c.template };
}
