/**
 * Reads a kubeconfig (kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig)
 * into what one HTTPS connection needs: the server URL, the CA to trust, and the client
 * certificate and key (or a bearer token). Only the current context (or the named one) is
 * resolved; file references are relative to the kubeconfig's directory, as kubectl resolves
 * them. Every mistake names the file and the key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { MetalseedError } from '../lib/errors.ts';

export interface KubeConnection {
  /** `https://HOST:PORT`, without a trailing slash. */
  server: string;
  /** PEM of the cluster CA; the server certificate must chain to it. */
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  /** Where it came from, for messages: a file path or "seed data directory". */
  source: string;
}

type Obj = Record<string, unknown>;

export function loadKubeconfigFile(file: string, context?: string): KubeConnection {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `kubeconfig ${file}: ${(err as Error).message}`,
      'pass --kubeconfig FILE, or run on the seed (it builds the admin kubeconfig from its data directory)',
    );
  }
  return parseKubeconfig(text, file, path.dirname(path.resolve(file)), context);
}

/** `baseDir` resolves `certificate-authority` and friends given as file paths. */
export function parseKubeconfig(
  text: string,
  source: string,
  baseDir: string,
  context?: string,
): KubeConnection {
  const bad = (what: string, hint?: string): MetalseedError =>
    new MetalseedError('CONFIG_INVALID', `kubeconfig ${source}: ${what}`, hint);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw bad(`not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObj(doc)) throw bad('expected a mapping with clusters, users and contexts');
  const ctxName = context ?? str(doc['current-context']);
  if (!ctxName) throw bad('no current-context', 'set current-context, or pass --context');
  const ctx = named(doc, 'contexts', ctxName, 'context', bad);
  const clusterName = str(ctx.cluster);
  const userName = str(ctx.user);
  if (!clusterName) throw bad(`contexts[${ctxName}].context.cluster is missing`);
  const cluster = named(doc, 'clusters', clusterName, 'cluster', bad);
  const user = userName ? named(doc, 'users', userName, 'user', bad) : {};
  const server = checkServer(str(cluster.server), `clusters[${clusterName}].cluster.server`, bad);
  if (cluster['insecure-skip-tls-verify'] === true) {
    throw bad(
      `clusters[${clusterName}].cluster.insecure-skip-tls-verify is not supported`,
      'give certificate-authority-data: the seed never talks to an API server it cannot verify',
    );
  }
  const read = (o: Obj, key: string, where: string): string | undefined =>
    material(o, key, `${where}.${key}`, baseDir, bad);
  const caPem = read(cluster, 'certificate-authority', `clusters[${clusterName}].cluster`);
  if (!caPem) throw bad(`clusters[${clusterName}].cluster has no certificate-authority(-data)`);
  const conn: KubeConnection = { server, caPem, source };
  const certPem = read(user, 'client-certificate', `users[${userName}].user`);
  const keyPem = read(user, 'client-key', `users[${userName}].user`);
  if (certPem !== undefined) conn.certPem = certPem;
  if (keyPem !== undefined) conn.keyPem = keyPem;
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw bad(`users[${userName}].user needs both client-certificate and client-key`);
  }
  const token = str(user.token);
  if (token) conn.token = token;
  if (!certPem && !token) {
    throw bad(
      `users[${userName}].user has no client certificate and no token`,
      'exec and auth-provider plugins are not supported; use `metalseed kubeconfig`',
    );
  }
  return conn;
}

function named(
  doc: Obj,
  list: string,
  name: string,
  field: string,
  bad: (what: string, hint?: string) => MetalseedError,
): Obj {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const hit = items.find((i) => isObj(i) && i.name === name);
  if (!isObj(hit) || !isObj(hit[field])) {
    const known = items.filter(isObj).map((i) => String(i.name));
    throw bad(
      `${list} has no entry named "${name}"`,
      known.length ? `known: ${known.join(', ')}` : undefined,
    );
  }
  return hit[field] as Obj;
}

/** `KEY-data` (base64 of PEM) wins over `KEY` (a file path), as in kubectl. */
function material(
  o: Obj,
  key: string,
  where: string,
  baseDir: string,
  bad: (what: string) => MetalseedError,
): string | undefined {
  const data = str(o[`${key}-data`]);
  if (data) {
    const pem = Buffer.from(data, 'base64').toString('utf8');
    if (!pem.includes('-----BEGIN ')) throw bad(`${where}-data is not base64 of a PEM block`);
    return pem;
  }
  const file = str(o[key]);
  if (!file) return undefined;
  try {
    return fs.readFileSync(path.resolve(baseDir, file), 'utf8');
  } catch (err) {
    throw bad(`${where}: ${(err as Error).message}`);
  }
}

function checkServer(s: string, where: string, bad: (what: string) => MetalseedError): string {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw bad(`${where} "${s}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw bad(`${where} "${s}" must be https://HOST:PORT`);
  return s.replace(/\/+$/, '');
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
