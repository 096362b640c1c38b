/**
 * A small builder for Ignition configs, spec 3.3.0 (coreos.github.io/ignition/configuration-v3_3):
 * accepted by Flatcar stable (3.0.0–3.5.0) and by Debian's Ignition 2.14 (3.0.0–3.3.0), see
 * lab-findings.md. Output is byte-stable (sorted keys) and covered by golden files.
 */
import { MetalseedError } from '../lib/errors.ts';
import { stableStringify } from '../lib/stable-json.ts';

export const IGNITION_VERSION = '3.3.0';

export interface IgnitionFile {
  path: string;
  mode: number; // decimal in JSON, e.g. 0o644 = 420
  contents: string; // written as a data: URL (RFC 2397)
  overwrite?: boolean;
}

/**
 * A file Ignition fetches itself. Over plain http the hash is what makes it safe, so it is
 * required (k8s-bootstrap.md section 6.4; spec `contents.verification.hash`).
 */
export interface IgnitionRemoteFile {
  path: string;
  mode: number;
  url: string;
  /** Lowercase hex SHA-256 of the body; rendered as `sha256-<hex>`. */
  sha256: string;
  overwrite?: boolean;
}

/** `storage.links`: always a symlink (`hard: false`). */
export interface IgnitionLink {
  path: string;
  target: string;
}

/**
 * `storage.filesystems`. `path` only mounts it while Ignition runs; ship a .mount unit for the
 * running system (spec 3.3.0, "filesystems.path").
 */
export interface IgnitionFilesystem {
  device: string;
  format: 'ext4' | 'xfs' | 'btrfs';
  label: string;
  wipeFilesystem: boolean;
  path?: string;
}

export interface IgnitionDropin {
  name: string;
  contents: string;
}

export interface IgnitionUnit {
  name: string;
  enabled?: boolean;
  mask?: boolean;
  contents?: string;
  dropins?: IgnitionDropin[];
}

export interface IgnitionUser {
  name: string;
  sshAuthorizedKeys: string[];
}

/**
 * `ignition.config.merge`: a child config Ignition fetches and merges before applying
 * (spec 3.3.0 "ignition.config.merge"; operator-notes.md "Secrets"). `bearer` becomes an
 * `Authorization: Bearer …` header (`httpHeaders`, spec >= 3.1.0).
 */
export interface IgnitionMerge {
  source: string;
  bearer: string;
}

export interface IgnitionSpec {
  /** PEM CAs Ignition trusts for its own https fetches (`ignition.security.tls.certificateAuthorities`). */
  tlsCertificateAuthorities?: string[];
  merge?: IgnitionMerge[];
  files: IgnitionFile[];
  units: IgnitionUnit[];
  users: IgnitionUser[];
  remoteFiles?: IgnitionRemoteFile[];
  links?: IgnitionLink[];
  filesystems?: IgnitionFilesystem[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** RFC 2397 data URL; percent-encoding keeps the JSON readable for text files. */
export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`;
}

export function renderIgnition(spec: IgnitionSpec): string {
  const files = [...spec.files.map(inlineFile), ...(spec.remoteFiles ?? []).map(remoteFile)].sort((a, b) =>
    a.path.localeCompare(b.path),
  );
  const links = [...(spec.links ?? [])].sort((a, b) => a.path.localeCompare(b.path));
  const filesystems = [...(spec.filesystems ?? [])].sort((a, b) => a.device.localeCompare(b.device));
  const units = [...spec.units].sort((a, b) => a.name.localeCompare(b.name));
  const config: Record<string, unknown> = { ignition: ignitionSection(spec) };
  const users = spec.users.filter((u) => u.sshAuthorizedKeys.length > 0);
  if (users.length > 0) config.passwd = { users };
  const storage: Record<string, unknown> = {};
  if (files.length > 0) storage.files = files;
  if (links.length > 0) storage.links = links.map((l) => ({ ...l, hard: false }));
  if (filesystems.length > 0) storage.filesystems = filesystems;
  if (Object.keys(storage).length > 0) config.storage = storage;
  if (units.length > 0) config.systemd = { units };
  return stableStringify(config);
}

function ignitionSection(spec: IgnitionSpec): Record<string, unknown> {
  const section: Record<string, unknown> = { version: IGNITION_VERSION };
  const cas = spec.tlsCertificateAuthorities ?? [];
  // Ignition loads these before it fetches any merge (internal/exec/engine.go, fetchReferencedConfig)
  if (cas.length > 0) {
    section.security = {
      tls: { certificateAuthorities: cas.map((pem) => ({ source: base64DataUrl(pem) })) },
    };
  }
  const merge = spec.merge ?? [];
  if (merge.length > 0) {
    section.config = {
      merge: merge.map((m) => ({
        source: m.source,
        httpHeaders: [{ name: 'Authorization', value: `Bearer ${m.bearer}` }],
      })),
    };
  }
  return section;
}

/** RFC 2397 with base64: PEM is multi-line, and a CA is read, not edited. */
function base64DataUrl(text: string): string {
  return `data:;base64,${Buffer.from(text, 'utf8').toString('base64')}`;
}

function inlineFile(f: IgnitionFile) {
  return {
    path: f.path,
    mode: f.mode,
    overwrite: f.overwrite ?? true,
    contents: { source: dataUrl(f.contents) },
  };
}

function remoteFile(f: IgnitionRemoteFile) {
  if (!SHA256_HEX.test(f.sha256)) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `${f.path}: sha256 must be 64 lowercase hex digits, got ${JSON.stringify(f.sha256)}`,
    );
  }
  return {
    path: f.path,
    mode: f.mode,
    overwrite: f.overwrite ?? true,
    contents: { source: f.url, verification: { hash: `sha256-${f.sha256}` } },
  };
}
