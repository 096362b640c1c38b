/**
 * A small stand-in for kube-apiserver, for tests only (a real cluster cannot run here). It
 * speaks the real wire protocol on the paths the seed uses: HTTPS with a server certificate
 * from a test CA; the client certificate is requested and checked as kube-apiserver does
 * (invalid or missing: 401 Unauthorized; a user outside the admin groups: 403 Forbidden; or,
 * with `clientAuth: 'tls'`, rejected in the handshake). Nodes are a versioned collection with
 * list, watch (replay from a resourceVersion, BOOKMARKs, 410 Expired after `compact()`),
 * get and delete (with a uid precondition); Leases can be read; the smoke test's objects
 * live in fake-workloads.ts.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { CertAndKey } from '../cluster/pki/index.ts';
import { type Answer, FakeWorkloads, type WorkloadOptions } from './fake-workloads.ts';
import type { Lease, Node } from './types.ts';

export interface FakeApiOptions extends WorkloadOptions {
  ca: CertAndKey;
  serverCert: CertAndKey;
  /** Certificate groups (O) that may do anything; others get 403. */
  adminGroups?: readonly string[];
  /** 'http': bad client certificates get 401 (kube-apiserver); 'tls': the handshake fails. */
  clientAuth?: 'http' | 'tls';
  /** How a too-old watch version is refused: an ERROR event (the watch cache) or HTTP 410. */
  goneAs?: 'event' | 'status';
  /** Listen here (to come back on the same address after close); default any free port. */
  port?: number;
}

export interface Recorded {
  method: string;
  path: string;
  user: string;
}

interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  node: Node;
}

/** Legacy discovery (api-concepts "Discovery API"), enough for kubectl to map kinds to paths. */
const resource = (name: string, kind: string, namespaced: boolean, verbs: string[]) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs,
});
const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      {
        name: 'coordination.k8s.io',
        versions: [{ groupVersion: 'coordination.k8s.io/v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' },
      },
    ],
  },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      resource('nodes', 'Node', false, ['delete', 'get', 'list', 'watch']),
      resource('pods', 'Pod', true, ['get', 'list']),
      resource('replicationcontrollers', 'ReplicationController', true, ['create', 'delete', 'get', 'list']),
      resource('services', 'Service', true, ['create', 'delete', 'get', 'list']),
    ],
  },
  '/apis/coordination.k8s.io/v1': {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'coordination.k8s.io/v1',
    resources: [resource('leases', 'Lease', true, ['get'])],
  },
};

const DEFAULT_ADMIN_GROUPS = ['kubeadm:cluster-admins', 'system:masters'];

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  readonly nodes = new Map<string, Node>();
  readonly leases = new Map<string, Lease>();
  /** kube-system Secrets (bootstrap tokens), by name. */
  readonly secrets = new Map<string, { metadata: { name: string }; [k: string]: unknown }>();
  readonly workloads: FakeWorkloads;
  private rv = 100;
  private compactedBelow = 0;
  private readonly log: StoredEvent[] = [];
  private readonly watchers = new Set<{ res: ServerResponse; send: (e: StoredEvent) => void }>();
  private server!: https.Server;
  url = '';

  private constructor(private readonly o: FakeApiOptions) {
    this.workloads = new FakeWorkloads(
      o,
      () => this.next(),
      () => [...this.nodes.values()],
    );
  }

  static async start(o: FakeApiOptions): Promise<FakeApiServer> {
    const f = new FakeApiServer(o);
    f.server = https.createServer(
      {
        cert: o.serverCert.certPem,
        key: o.serverCert.keyPem,
        ca: o.ca.certPem,
        requestCert: true,
        rejectUnauthorized: o.clientAuth === 'tls',
        ...(o.clientAuth === 'tls' ? { maxVersion: 'TLSv1.2' as const } : {}),
      },
      (req, res) => f.handle(req, res),
    );
    await new Promise<void>((resolve) => f.server.listen(o.port ?? 0, '127.0.0.1', resolve));
    f.url = `https://127.0.0.1:${(f.server.address() as { port: number }).port}`;
    return f;
  }

  async close(): Promise<void> {
    this.dropWatches();
    await this.workloads.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Creates or replaces a Node (ADDED or MODIFIED), stamping uid and resourceVersion. */
  setNode(node: Node): Node {
    const name = node.metadata.name!;
    const old = this.nodes.get(name);
    const stored: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      ...node,
      metadata: {
        ...node.metadata,
        uid: node.metadata.uid ?? old?.metadata.uid ?? `uid-${name}-${this.rv}`,
        resourceVersion: String(this.next()),
      },
    };
    this.nodes.set(name, stored);
    this.emit(old ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  removeNode(name: string): Node | undefined {
    const node = this.nodes.get(name);
    if (!node) return undefined;
    this.nodes.delete(name);
    const gone = { ...node, metadata: { ...node.metadata, resourceVersion: String(this.next()) } };
    this.emit('DELETED', gone);
    return gone;
  }

  setLease(name: string, renewTime: string): void {
    this.leases.set(name, {
      metadata: { name, namespace: 'kube-node-lease', resourceVersion: String(this.next()) },
      spec: { holderIdentity: name, renewTime, leaseDurationSeconds: 40 },
    });
  }

  /** Forgets history: a watch from any version before now gets 410 Expired. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.log.length = 0;
  }

  /** Cuts every open watch stream mid-flight (no final chunk), like a dying apiserver or network. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** Sends a BOOKMARK at the current version to every watch. */
  bookmark(): void {
    const rv = String(this.rv);
    for (const w of this.watchers)
      w.res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: rv } } })}\n`,
      );
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  private next(): number {
    return ++this.rv;
  }

  private emit(type: StoredEvent['type'], node: Node): void {
    const e = { rv: Number(node.metadata.resourceVersion), type, node };
    this.log.push(e);
    for (const w of this.watchers) w.send(e);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const user = this.authenticate(req);
    this.requests.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      user: user?.name ?? '',
    });
    if (!user) {
      send(res, failure(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (!user.groups.some((g) => (this.o.adminGroups ?? DEFAULT_ADMIN_GROUPS).includes(g))) {
      const what = `${req.method?.toLowerCase()} ${url.pathname}`;
      send(res, failure(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${what}`));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      } catch {
        send(res, failure(400, 'BadRequest', 'body is not JSON'));
        return;
      }
      const isWatch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      if (url.pathname === '/api/v1/nodes' && req.method === 'GET' && isWatch) {
        this.watch(url, res);
        return;
      }
      this.route(req.method ?? 'GET', url, body).then(
        (r) => send(res, r),
        (err: Error) => send(res, failure(500, 'InternalError', err.message)),
      );
    });
  }

  /** kube-apiserver's x509 authenticator: CN is the user, O the groups, the chain must verify. */
  private authenticate(req: IncomingMessage): { name: string; groups: string[] } | null {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return null;
    const subject = socket.getPeerCertificate().subject;
    if (!subject?.CN) return null;
    const o = subject.O as string | string[] | undefined;
    return { name: String(subject.CN), groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
  }

  private async route(method: string, url: URL, body: unknown): Promise<Answer> {
    const p = url.pathname;
    if (p === '/version' && method === 'GET') {
      return { status: 200, body: { major: '1', minor: '36', gitVersion: 'v1.36.2-fake' } };
    }
    const discovery = method === 'GET' ? DISCOVERY[p] : undefined;
    if (discovery) return { status: 200, body: discovery };
    if (p === '/api/v1/nodes' && method === 'GET') {
      const items = [...this.nodes.values()];
      const metadata = { resourceVersion: String(this.rv) };
      return { status: 200, body: { kind: 'NodeList', apiVersion: 'v1', metadata, items } };
    }
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(p);
    if (node) return this.nodeItem(method, decodeURIComponent(node[1]!), body);
    const secrets = this.secretRoute(method, p, body);
    if (secrets) return secrets;
    const lease = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-node-lease\/leases\/([^/]+)$/.exec(p);
    if (lease && method === 'GET') {
      const name = decodeURIComponent(lease[1]!);
      const l = this.leases.get(name);
      if (!l) return failure(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      return { status: 200, body: { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', ...l } };
    }
    const answer = await this.workloads.route(method, url, body);
    return (
      answer ?? failure(404, 'NotFound', `the server could not find the requested resource (${method} ${p})`)
    );
  }

  private secretRoute(method: string, p: string, body: unknown): Answer | null {
    const base = '/api/v1/namespaces/kube-system/secrets';
    if (p === base && method === 'POST') {
      const s = body as { metadata?: { name?: string } };
      const name = s.metadata?.name ?? '';
      if (this.secrets.has(name)) return failure(409, 'AlreadyExists', `secrets "${name}" already exists`);
      const stored = {
        ...(body as object),
        metadata: { ...s.metadata, name, resourceVersion: String(this.next()) },
      };
      this.secrets.set(name, stored);
      return { status: 201, body: stored };
    }
    const one = p.startsWith(`${base}/`) ? decodeURIComponent(p.slice(base.length + 1)) : null;
    if (one === null || method !== 'GET') return null;
    const s = this.secrets.get(one);
    return s ? { status: 200, body: s } : failure(404, 'NotFound', `secrets "${one}" not found`);
  }

  private nodeItem(method: string, name: string, body: unknown): Answer {
    const n = this.nodes.get(name);
    if (!n) return failure(404, 'NotFound', `nodes "${name}" not found`);
    if (method === 'GET') return { status: 200, body: n };
    if (method !== 'DELETE') return failure(405, 'MethodNotAllowed', `${method} is not supported`);
    const want = (body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
    if (want !== undefined && want !== n.metadata.uid) {
      const msg = `Precondition failed: UID in precondition: ${want}, UID in object meta: ${n.metadata.uid}`;
      return failure(409, 'Conflict', `Operation cannot be fulfilled on nodes "${name}": ${msg}`);
    }
    return { status: 200, body: this.removeNode(name) };
  }

  private watch(url: URL, res: ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from && from < this.compactedBelow - 1) {
      const gone = failure(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow - 1})`);
      if (this.o.goneAs === 'status') {
        send(res, gone);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone.body })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w = {
      res,
      send: (e: StoredEvent): void => {
        if (e.rv > from || from === 0) res.write(`${JSON.stringify({ type: e.type, object: e.node })}\n`);
      },
    };
    if (from === 0) {
      // no version: the current state as synthetic ADDED events, then changes (api-concepts)
      for (const node of this.nodes.values())
        res.write(`${JSON.stringify({ type: 'ADDED', object: node })}\n`);
    } else {
      for (const e of this.log) w.send(e);
    }
    this.watchers.add(w);
    const timeoutS = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeoutS > 0 ? setTimeout(() => res.end(), timeoutS * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watchers.delete(w);
    });
  }
}

function send(res: ServerResponse, a: Answer): void {
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A metav1.Status answer, as kube-apiserver writes errors. */
export function failure(code: number, reason: string, message: string): Answer {
  return {
    status: code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code },
  };
}
