/**
 * The fake API server's namespaced objects, for the smoke test: ReplicationControllers whose
 * "controller" creates pods, a "scheduler" that binds them to a Ready worker, a "kubelet" that
 * runs them (or leaves them in image-pull back-off), and NodePort Services whose "kube-proxy"
 * is a real HTTP listener on 127.0.0.1:nodePort answering with nginx's welcome page while a
 * Running pod backs the Service. Deleting a v1 ReplicationController orphans its pods unless
 * the request asks for propagation, as the real API does.
 */
import http from 'node:http';
import type { Node, Pod, ReplicationController, Service } from './types.ts';

export interface WorkloadOptions {
  /** What the fake kubelet does: run pods, or leave them Pending in ImagePullBackOff. */
  pods?: 'run' | 'pending';
  scheduleAfterMs?: number;
  runAfterMs?: number;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** kube-apiserver --service-node-port-range default (k8s-bootstrap.md 3d). */
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;
const PATH_RE = /^\/api\/v1\/namespaces\/([^/]+)\/(replicationcontrollers|services|pods)(?:\/([^/]+))?$/;

export const NGINX_PAGE =
  '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n';

type Kind = 'replicationcontrollers' | 'services' | 'pods';

export class FakeWorkloads {
  readonly objects: Record<Kind, Map<string, ReplicationController | Service | Pod>> = {
    replicationcontrollers: new Map(),
    services: new Map(),
    pods: new Map(),
  };
  private readonly proxies = new Map<string, http.Server>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private seq = 0;

  constructor(
    private readonly o: WorkloadOptions,
    private readonly nextRv: () => number,
    private readonly nodes: () => Node[],
  ) {}

  /** `ns/name` of every object still there. */
  leftovers(): string[] {
    return Object.entries(this.objects).flatMap(([kind, m]) => [...m.keys()].map((k) => `${kind}/${k}`));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.proxies.values()) s.close();
    this.proxies.clear();
  }

  async route(method: string, url: URL, body: unknown): Promise<Answer | null> {
    const m = PATH_RE.exec(url.pathname);
    if (!m) return null;
    const [ns, kind, name] = [decodeURIComponent(m[1]!), m[2] as Kind, m[3] && decodeURIComponent(m[3])];
    const store = this.objects[kind];
    if (!name && method === 'GET') {
      const sel = parseSelector(url.searchParams.get('labelSelector') ?? '');
      const items = [...store.entries()]
        .filter(([k, o]) => k.startsWith(`${ns}/`) && matches(o.metadata.labels ?? {}, sel))
        .map(([, o]) => o);
      return {
        status: 200,
        body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.nextRv()) }, items },
      };
    }
    if (!name && method === 'POST') return this.create(ns, kind, body as Pod);
    const key = `${ns}/${name}`;
    const obj = store.get(key);
    if (!obj) return notFound(kind, name ?? '');
    if (method === 'GET') return { status: 200, body: obj };
    if (method !== 'DELETE') return null;
    store.delete(key);
    if (kind === 'services') this.proxies.get(key)?.close();
    if (kind === 'replicationcontrollers') this.deleteRc(ns, obj as ReplicationController, url, body);
    return { status: 200, body: obj };
  }

  private async create(ns: string, kind: Kind, obj: Pod): Promise<Answer> {
    const name = obj?.metadata?.name;
    if (!name) return { status: 422, body: status(422, 'Invalid', `${kind}: metadata.name: Required value`) };
    const key = `${ns}/${name}`;
    if (this.objects[kind].has(key)) {
      return { status: 409, body: status(409, 'AlreadyExists', `${kind} "${name}" already exists`) };
    }
    const stored = {
      ...obj,
      metadata: {
        ...obj.metadata,
        namespace: ns,
        uid: `uid-${name}`,
        resourceVersion: String(this.nextRv()),
      },
    };
    if (kind === 'services') await this.exposeService(key, stored as Service);
    this.objects[kind].set(key, stored);
    if (kind === 'replicationcontrollers') this.startPods(ns, stored as ReplicationController);
    return { status: 201, body: stored };
  }

  private startPods(ns: string, rc: ReplicationController): void {
    const labels = rc.spec?.template?.metadata?.labels ?? {};
    for (let i = 0; i < (rc.spec?.replicas ?? 1); i++) {
      const name = `${rc.metadata.name}-${(++this.seq).toString(36).padStart(5, 'x')}`;
      const pod: Pod = {
        metadata: { name, namespace: ns, labels, uid: `uid-${name}` },
        spec: {},
        status: { phase: 'Pending' },
      };
      this.objects.pods.set(`${ns}/${name}`, pod);
      this.later(this.o.scheduleAfterMs ?? 50, () => this.schedule(pod));
    }
  }

  private schedule(pod: Pod): void {
    const node = this.nodes().find(
      (n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
        n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === undefined,
    );
    if (!node) {
      pod.status = {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/0 nodes are available',
          },
        ],
      };
      return;
    }
    pod.spec = { nodeName: node.metadata.name! };
    const hostIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    pod.status = { phase: 'Pending', hostIP, conditions: [{ type: 'PodScheduled', status: 'True' }] };
    this.later(this.o.runAfterMs ?? 100, () => {
      if (this.o.pods === 'pending') {
        pod.status = {
          ...pod.status,
          containerStatuses: [
            {
              name: 'nginx',
              ready: false,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nginx"' } },
            },
          ],
        };
        return;
      }
      pod.status = {
        phase: 'Running',
        hostIP,
        podIP: `10.2.1.${(this.seq % 250) + 2}`,
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        containerStatuses: [
          {
            name: 'nginx',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: new Date().toISOString() } },
          },
        ],
      };
    });
  }

  /** core/v1 RCs default to orphaning their pods (registry/core/replicationcontroller strategy). */
  private deleteRc(ns: string, rc: ReplicationController, url: URL, body: unknown): void {
    const policy =
      url.searchParams.get('propagationPolicy') ??
      (body as { propagationPolicy?: string } | undefined)?.propagationPolicy;
    if (policy !== 'Background' && policy !== 'Foreground') return;
    const sel = rc.spec?.selector ?? rc.spec?.template?.metadata?.labels ?? {};
    for (const [key, pod] of this.objects.pods) {
      if (!key.startsWith(`${ns}/`) || !matches(pod.metadata.labels ?? {}, sel)) continue;
      pod.metadata.deletionTimestamp = new Date().toISOString();
      this.later(this.o.runAfterMs ?? 100, () => this.objects.pods.delete(key));
    }
  }

  private async exposeService(key: string, svc: Service): Promise<void> {
    svc.spec = { ...svc.spec, clusterIP: `10.3.0.${(++this.seq % 250) + 2}` };
    if (svc.spec.type !== 'NodePort') return;
    const sel = svc.spec.selector ?? {};
    const proxy = http.createServer((req, res) => {
      const backed = ([...this.objects.pods.values()] as Pod[]).some(
        (p) =>
          p.status?.phase === 'Running' &&
          !p.metadata.deletionTimestamp &&
          matches(p.metadata.labels ?? {}, sel),
      );
      if (!backed) return req.socket.destroy(); // kube-proxy rejects a Service without endpoints
      res.writeHead(200, { 'content-type': 'text/html', server: 'nginx (fake)' });
      res.end(req.method === 'HEAD' ? undefined : NGINX_PAGE);
    });
    const nodePort = await listenInRange(proxy);
    this.proxies.set(key, proxy);
    svc.spec.ports = (svc.spec.ports ?? []).map((p, i) => (i === 0 ? { ...p, nodePort } : p));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

/** A free port in the NodePort range on loopback, as the API allocates one in its range. */
async function listenInRange(server: http.Server): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return port;
  }
  throw new Error('no free port in the NodePort range on 127.0.0.1');
}

/** Equality-based label selectors: `a=b,c==d` (labels.Parse, without set-based terms). */
export function parseSelector(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of s.split(',').filter(Boolean)) {
    const [k, v] = term.split(/==?/);
    if (k !== undefined && v !== undefined) out[k.trim()] = v.trim();
  }
  return out;
}

function matches(labels: Record<string, string>, sel: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code };
}

function notFound(kind: string, name: string): Answer {
  return { status: 404, body: status(404, 'NotFound', `${kind} "${name}" not found`) };
}
