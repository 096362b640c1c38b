/**
 * A small builder for Ignition configs, spec 3.3.0 (coreos.github.io/ignition/configuration-v3_3):
 * accepted by Flatcar stable (3.0.0–3.5.0) and by Debian's Ignition 2.14 (3.0.0–3.3.0), see
 * lab-findings.md. Output is byte-stable (sorted keys) and covered by golden files.
 */
import { stableStringify } from '../lib/stable-json.ts';

export const IGNITION_VERSION = '3.3.0';

export interface IgnitionFile {
  path: string;
  mode: number; // decimal in JSON, e.g. 0o644 = 420
  contents: string; // written as a data: URL (RFC 2397)
  overwrite?: boolean;
}

export interface IgnitionUnit {
  name: string;
  enabled?: boolean;
  mask?: boolean;
  contents?: string;
}

export interface IgnitionUser {
  name: string;
  sshAuthorizedKeys: string[];
}

export interface IgnitionSpec {
  files: IgnitionFile[];
  units: IgnitionUnit[];
  users: IgnitionUser[];
}

/** RFC 2397 data URL; percent-encoding keeps the JSON readable for text files. */
export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`;
}

export function renderIgnition(spec: IgnitionSpec): string {
  const files = [...spec.files].sort((a, b) => a.path.localeCompare(b.path));
  const units = [...spec.units].sort((a, b) => a.name.localeCompare(b.name));
  const config: Record<string, unknown> = { ignition: { version: IGNITION_VERSION } };
  const users = spec.users.filter((u) => u.sshAuthorizedKeys.length > 0);
  if (users.length > 0) config.passwd = { users };
  if (files.length > 0) {
    config.storage = {
      files: files.map((f) => ({
        path: f.path,
        mode: f.mode,
        overwrite: f.overwrite ?? true,
        contents: { source: dataUrl(f.contents) },
      })),
    };
  }
  if (units.length > 0) config.systemd = { units };
  return stableStringify(config);
}
