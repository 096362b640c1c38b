/**
 * The cluster PKI on disk, in `dataDir/pki`, laid out like a controller's /etc/kubernetes/pki
 * (pki-files.ts) plus the operator's admin certificate and the init bootstrap token.
 *
 * - The cluster identity (three CAs and the SA key pair) is created only into an empty directory
 *   and never regenerated: a new CA is a new cluster. A partial or damaged set is an error that
 *   names the file, never a silent re-creation.
 * - Derived pieces are re-made when missing or due: the admin certificate within
 *   ADMIN_RENEW_BEFORE_MS of expiry, the bootstrap token once expired.
 * - Directories 0700, private keys and the token 0600, every write atomic (atomic-write.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../../lib/errors.ts';
import { ensurePrivateDir, writeFileAtomic } from './atomic-write.ts';
import { BootstrapToken, type BootstrapTokenRecord } from './bootstrap-token.ts';
import { caCertHash } from './ca-hash.ts';
import type { CertAndKey } from './certificate.ts';
import {
  type ClusterIdentity,
  type ClusterPki,
  createClusterIdentity,
  issueAdminCert,
  newBootstrapToken,
} from './cluster-pki.ts';
import { assertCa, assertKeyMatches, assertSignedBy, parseCertificate } from './inspect.ts';
import { readPrivateKey } from './keys.ts';
import {
  CONTROL_PLANE_PKI_PATHS,
  controlPlanePkiFiles,
  type PkiFile,
  PUBLIC_MODE,
  SECRET_MODE,
} from './pki-files.ts';

export const DIR_MODE = 0o700;
export const ADMIN_CERT = 'admin.crt';
export const ADMIN_KEY = 'admin.key';
export const TOKEN_FILE = 'bootstrap-token.json';
/** Re-issue the admin certificate a month before it lapses, so `metalseed kubeconfig` never hands out a dying one. */
export const ADMIN_RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

export interface LoadOptions {
  clusterName: string;
  now: Date;
  tokenTtlMs?: number;
}

export class PkiStore {
  private constructor(
    readonly dir: string,
    readonly pki: ClusterPki,
    /** Relative paths written by this call, in write order: empty on a plain reload. */
    readonly written: readonly string[],
  ) {}

  static async loadOrCreate(dir: string, opts: LoadOptions): Promise<PkiStore> {
    ensurePrivateDir(dir, DIR_MODE);
    ensurePrivateDir(path.join(dir, 'etcd'), DIR_MODE);
    const io = new PkiDir(dir);
    const written: string[] = [];
    const identity = await loadIdentity(io, opts, written);
    const admin = await loadAdmin(io, identity.ca, opts.now, written);
    const bootstrapToken = loadToken(io, opts, written);
    const pki: ClusterPki = {
      ...identity,
      admin,
      bootstrapToken,
      caCertHash: caCertHash(identity.ca.certPem),
    };
    return new PkiStore(dir, pki, written);
  }

  path(rel: string): string {
    return path.join(this.dir, rel);
  }
}

async function loadIdentity(io: PkiDir, opts: LoadOptions, written: string[]): Promise<ClusterIdentity> {
  const present = CONTROL_PLANE_PKI_PATHS.filter((n) => io.exists(n));
  if (present.length === 0) {
    const fresh = await createClusterIdentity(opts);
    for (const f of controlPlanePkiFiles(fresh)) io.publish(f, false, written);
    return fresh;
  }
  const missing = CONTROL_PLANE_PKI_PATHS.filter((n) => !present.includes(n));
  if (missing.length > 0) {
    throw io.broken(
      `${io.p(missing[0]!)} is missing while ${io.p(present[0]!)} exists (incomplete cluster PKI)`,
    );
  }
  const read = io.read.bind(io);
  const ca = checkCa(io, 'ca', read('ca.crt'), read('ca.key'), opts.now);
  const frontProxyCa = checkCa(
    io,
    'front-proxy-ca',
    read('front-proxy-ca.crt'),
    read('front-proxy-ca.key'),
    opts.now,
  );
  const etcdCa = checkCa(io, 'etcd/ca', read('etcd/ca.crt'), read('etcd/ca.key'), opts.now);
  const serviceAccount = { keyPem: read('sa.key'), publicKeyPem: read('sa.pub') };
  io.check(() => {
    readPrivateKey(serviceAccount.keyPem, io.p('sa.key'));
    assertKeyMatches(serviceAccount.publicKeyPem, serviceAccount.keyPem, io.p('sa.pub'), io.p('sa.key'));
  });
  return { clusterName: opts.clusterName, ca, frontProxyCa, etcdCa, serviceAccount };
}

function checkCa(io: PkiDir, base: string, certPem: string, keyPem: string, now: Date): CertAndKey {
  const crt = io.p(`${base}.crt`);
  const key = io.p(`${base}.key`);
  io.check(() => {
    assertCa(certPem, crt);
    readPrivateKey(keyPem, key);
    assertKeyMatches(certPem, keyPem, crt, key);
  });
  const notAfter = parseCertificate(certPem, crt).notAfter;
  if (now >= notAfter) {
    throw io.broken(
      `${crt} expired on ${notAfter.toISOString()}`,
      'rotate the CA (kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates) or start a new cluster',
    );
  }
  return { certPem, keyPem };
}

async function loadAdmin(io: PkiDir, ca: CertAndKey, now: Date, written: string[]): Promise<CertAndKey> {
  if (io.exists(ADMIN_CERT) && io.exists(ADMIN_KEY)) {
    const admin = { certPem: io.read(ADMIN_CERT), keyPem: io.read(ADMIN_KEY) };
    const hint = `delete ${io.p(ADMIN_CERT)} and ${io.p(ADMIN_KEY)}: a new admin certificate is issued on the next start`;
    io.check(() => {
      readPrivateKey(admin.keyPem, io.p(ADMIN_KEY));
      assertKeyMatches(admin.certPem, admin.keyPem, io.p(ADMIN_CERT), io.p(ADMIN_KEY));
    }, hint);
    await io.checkAsync(
      () => assertSignedBy(admin.certPem, ca.certPem, io.p(ADMIN_CERT), io.p('ca.crt')),
      hint,
    );
    const notAfter = parseCertificate(admin.certPem, io.p(ADMIN_CERT)).notAfter;
    if (notAfter.getTime() - now.getTime() > ADMIN_RENEW_BEFORE_MS) return admin;
  }
  const admin = await issueAdminCert(ca, now);
  io.publish({ path: ADMIN_KEY, contents: admin.keyPem, mode: SECRET_MODE }, true, written);
  io.publish({ path: ADMIN_CERT, contents: admin.certPem, mode: PUBLIC_MODE }, true, written);
  return admin;
}

function loadToken(io: PkiDir, opts: LoadOptions, written: string[]): BootstrapToken {
  if (io.exists(TOKEN_FILE)) {
    const file = io.p(TOKEN_FILE);
    const hint = `delete ${file}: a new token is made on the next start`;
    let token: BootstrapToken | undefined;
    io.check(() => {
      token = BootstrapToken.fromRecord(parseJson(io.read(TOKEN_FILE), file), file);
    }, hint);
    if (token && !token.isExpired(opts.now)) return token;
  }
  const token = newBootstrapToken(opts.now, opts.tokenTtlMs);
  io.publish({ path: TOKEN_FILE, contents: tokenFileContents(token), mode: SECRET_MODE }, true, written);
  return token;
}

/** `bootstrap-token.json` as the store reads it back (0600: it holds the secret). */
export function tokenFileContents(token: BootstrapToken): string {
  return `${JSON.stringify(token.toRecord(), null, 2)}\n`;
}

/** Replaces the current token (the token keeper's rotation); crash-safe like every PKI file. */
export function saveToken(dir: string, token: BootstrapToken): void {
  writeFileAtomic(path.join(dir, TOKEN_FILE), tokenFileContents(token), SECRET_MODE, { replace: true });
}

function parseJson(text: string, file: string): BootstrapTokenRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MetalseedError('CONFIG_INVALID', `${file} is not valid JSON`);
  }
  const r = v as Partial<Record<keyof BootstrapTokenRecord, unknown>> | null;
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || typeof r.secret !== 'string') {
    throw new MetalseedError('CONFIG_INVALID', `${file} does not hold a bootstrap token record`);
  }
  if (typeof r.expires !== 'string' || (r.description !== undefined && typeof r.description !== 'string')) {
    throw new MetalseedError('CONFIG_INVALID', `${file} does not hold a bootstrap token record`);
  }
  return r as BootstrapTokenRecord;
}

/** File access relative to the store, with errors that name the path and say how to recover. */
class PkiDir {
  readonly resetHint: string;

  constructor(readonly dir: string) {
    this.resetHint =
      `restore ${dir} from a backup if you have one. Deleting ${dir} makes the next start create a ` +
      'new cluster identity (new CAs and service-account key): every existing node, kubeconfig and ' +
      'join token stops working, and the machines must be re-provisioned (kubeadm reset)';
  }

  p(rel: string): string {
    return path.join(this.dir, rel);
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.p(rel));
  }

  read(rel: string): string {
    try {
      return fs.readFileSync(this.p(rel), 'utf8');
    } catch (err) {
      throw new MetalseedError('CONFIG_UNREADABLE', `cannot read ${this.p(rel)}: ${(err as Error).message}`);
    }
  }

  publish(f: PkiFile, replace: boolean, written: string[]): void {
    try {
      writeFileAtomic(this.p(f.path), f.contents, f.mode, { replace });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') {
        throw new MetalseedError(
          'CONFLICT',
          `${this.p(f.path)} appeared while this process was creating the PKI`,
          'another metalseed is creating the same PKI; stop it, then start again (the files it wrote are kept)',
        );
      }
      throw new MetalseedError('CONFIG_UNREADABLE', `cannot write ${this.p(f.path)}: ${e.message}`);
    }
    written.push(f.path);
  }

  broken(message: string, hint = this.resetHint): MetalseedError {
    return new MetalseedError('CONFIG_INVALID', message, hint);
  }

  /** Runs a validation; a failure keeps its message and gains the recovery hint. */
  check(fn: () => void, hint = this.resetHint): void {
    try {
      fn();
    } catch (err) {
      throw this.rehint(err, hint);
    }
  }

  async checkAsync(fn: () => Promise<void>, hint = this.resetHint): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw this.rehint(err, hint);
    }
  }

  private rehint(err: unknown, hint: string): unknown {
    return err instanceof MetalseedError ? new MetalseedError(err.code, err.message, hint) : err;
  }
}
