/**
 * `metalseed smoke`: the classic end-to-end check of a fresh cluster. Deploy nginx (a
 * ReplicationController and a NodePort Service), wait until its pod is scheduled and Running,
 * GET http://NODE-IP:NODE-PORT/ from this host as `curl` did in 2016, then delete everything.
 * Each step is printed with the time since the start; a failure names its step and what the
 * cluster last said (pod phase, waiting reason). Cleanup always runs, also after a failure or
 * an interrupt, with its own time budget.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { type ErrorCode, MetalseedError } from '../lib/errors.ts';
import { query } from './client.ts';
import { KubeApiError } from './errors.ts';
import { nodeFact } from './node-facts.ts';
import { sleep } from './sleep.ts';
import { smokeObjects } from './smoke-manifests.ts';
import type { List, Node, Pod, Service } from './types.ts';

export const SMOKE_STEPS = ['api', 'create', 'schedule', 'running', 'curl', 'cleanup'] as const;
export type SmokeStep = (typeof SMOKE_STEPS)[number];

/** kubectl's default: first deployments pull an image, which takes minutes on a slow link. */
export const SMOKE_TIMEOUT_MS = 5 * 60_000;
/** Deleting the RC, the Service and the pod (graceful termination is 30 s by default). */
export const CLEANUP_TIMEOUT_MS = 90_000;
const POLL_MS = 1_000;
/** One GET to the NodePort; retried until the deadline (kube-proxy may lag the pod by a moment). */
const CURL_ATTEMPT_MS = 5_000;

export class SmokeError extends MetalseedError {
  constructor(
    readonly step: SmokeStep,
    message: string,
    hint?: string,
    code: ErrorCode = 'UNAVAILABLE',
    readonly interrupted = false,
  ) {
    super(code, `smoke failed at step "${step}": ${message}`, hint);
    this.name = 'SmokeError';
  }
}

/** The client calls smoke makes (KubeClient has them). */
export interface SmokeClient {
  readonly server: string;
  get<T>(path: string): Promise<T>;
  create<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string, body?: unknown): Promise<T>;
}

export interface SmokeOptions {
  client: SmokeClient;
  namespace: string;
  timeoutMs?: number;
  /** Aborting (Ctrl-C) stops waiting; cleanup still runs. */
  signal?: AbortSignal;
  print: (line: string) => void;
  image?: string;
  runId?: string;
  pollMs?: number;
  cleanupTimeoutMs?: number;
  now?: () => number;
}

export interface SmokeResult {
  pod: string;
  node: string;
  url: string;
  status: number;
  title: string;
}

export async function runSmoke(o: SmokeOptions): Promise<SmokeResult> {
  return new SmokeRun(o).run();
}

class SmokeRun {
  private step: SmokeStep = 'api';
  private readonly t0: number;
  private readonly objs;
  private readonly base: string;
  private readonly selector: string;
  private sent = { rc: false, service: false };

  constructor(private readonly o: SmokeOptions) {
    this.t0 = this.now();
    this.objs = smokeObjects(o.runId ?? randomBytes(3).toString('hex').slice(0, 5), o.image);
    this.base = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}`;
    this.selector = Object.entries(this.objs.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }

  async run(): Promise<SmokeResult> {
    let result: SmokeResult | undefined;
    let failure: unknown;
    try {
      result = await this.steps();
    } catch (err) {
      failure = this.asStepError(err);
    }
    const cleanupFailure = await this.cleanup().catch((err: unknown) => this.asStepError(err));
    if (failure) throw failure;
    if (cleanupFailure) throw cleanupFailure;
    return result!;
  }

  private async steps(): Promise<SmokeResult> {
    const c = this.o.client;
    const version = await c.get<{ gitVersion?: string }>('/version');
    const nodes = (await c.get<List<Node>>('/api/v1/nodes')).items.map(nodeFact);
    const ready = nodes.filter((n) => n.ready === 'True').length;
    this.say(`API server ${c.server}: ${version.gitVersion ?? '?'}, ${nodes.length} nodes, ${ready} Ready`);

    this.step = 'create';
    this.sent.service = true;
    const svc = await c.create<Service>(`${this.base}/services`, this.objs.service);
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    if (!nodePort) throw new SmokeError('create', `Service ${this.objs.name} got no nodePort`);
    this.sent.rc = true;
    await c.create(`${this.base}/replicationcontrollers`, this.objs.rc);
    this.say(
      `created Service ${this.objs.name} (NodePort ${nodePort}) and ReplicationController ${this.objs.name} (1 replica, nginx)`,
    );

    this.step = 'schedule';
    const scheduled = await this.until('the pod to be scheduled', (p) => (p?.spec?.nodeName ? p : undefined));
    const node = scheduled.spec!.nodeName!;
    this.say(`pod ${scheduled.metadata.name} scheduled on node ${node}`);

    this.step = 'running';
    const running = await this.until('the pod to be Running', (p) =>
      p?.status?.phase === 'Running' ? p : undefined,
    );
    this.say(
      `pod ${running.metadata.name} Running on ${node}${running.status?.podIP ? ` (pod IP ${running.status.podIP})` : ''}`,
    );

    this.step = 'curl';
    const address = await this.nodeAddress(node);
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${nodePort}/`;
    const got = await this.curl(url);
    this.say(
      `GET ${url} -> HTTP ${got.status}, ${got.bytes} bytes, ${got.title ? `<title>${got.title}</title>` : JSON.stringify(got.head)}`,
    );
    return { pod: running.metadata.name ?? '', node, url, status: got.status, title: got.title };
  }

  /** Polls the run's pods until `pick` accepts the first one, or the deadline. */
  private async until(what: string, pick: (p: Pod | undefined) => Pod | undefined): Promise<Pod> {
    const deadline = this.t0 + (this.o.timeoutMs ?? SMOKE_TIMEOUT_MS);
    let last: Pod | undefined;
    let blip: KubeApiError | undefined;
    for (;;) {
      try {
        const pods = await this.o.client.get<List<Pod>>(
          `${this.base}/pods${query({ labelSelector: this.selector })}`,
        );
        blip = undefined;
        last = pods.items.find((p) => !p.metadata.deletionTimestamp);
        const hit = pick(last);
        if (hit) return hit;
      } catch (err) {
        // an API server that blinks (restart, leader change) is waited out like a slow pod
        if (!(err instanceof KubeApiError && err.code === 'UNAVAILABLE')) throw err;
        blip = err;
      }
      if (this.now() >= deadline) {
        const state = blip ? `the API server did not answer (${blip.message})` : describePod(last);
        throw new SmokeError(
          this.step,
          `timed out waiting for ${what}: ${state}`,
          blip?.hint ?? podHint(last),
        );
      }
      await this.pause();
    }
  }

  private async nodeAddress(name: string): Promise<string> {
    const node = await this.o.client.get<Node>(`/api/v1/nodes/${encodeURIComponent(name)}`);
    const addrs = node.status?.addresses ?? [];
    const a = addrs.find((x) => x.type === 'InternalIP') ?? addrs.find((x) => x.type === 'ExternalIP');
    if (!a) throw new SmokeError('curl', `node ${name} reports no InternalIP or ExternalIP address`);
    return a.address;
  }

  /** GET until HTTP 200 or the deadline: kube-proxy programs the NodePort shortly after the pod runs. */
  private async curl(url: string): Promise<{ status: number; bytes: number; title: string; head: string }> {
    const deadline = this.t0 + (this.o.timeoutMs ?? SMOKE_TIMEOUT_MS);
    let last = '';
    for (;;) {
      try {
        const r = await httpGet(url, CURL_ATTEMPT_MS, this.o.signal);
        if (r.status === 200) {
          const title = /<title>([^<]*)<\/title>/i.exec(r.body)?.[1]?.trim() ?? '';
          return { status: r.status, bytes: Buffer.byteLength(r.body), title, head: r.body.slice(0, 60) };
        }
        last = `HTTP ${r.status}`;
      } catch (err) {
        if (this.o.signal?.aborted) throw err;
        last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      if (this.now() >= deadline) {
        throw new SmokeError(
          'curl',
          `GET ${url} did not answer HTTP 200 in time (last: ${last})`,
          'is kube-proxy running on the node, and is the NodePort range (30000-32767) reachable from this host?',
        );
      }
      await this.pause();
    }
  }

  /** Deletes what this run created and waits for its pods to go; never aborted by Ctrl-C. */
  private async cleanup(): Promise<void> {
    this.step = 'cleanup';
    if (!this.sent.rc && !this.sent.service) return;
    const c = this.o.client;
    const name = encodeURIComponent(this.objs.name);
    // core/v1 ReplicationControllers orphan their pods on DELETE unless told otherwise
    // (the RC strategy's DefaultGarbageCollectionPolicy); Background lets the GC remove them.
    const options = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' };
    if (this.sent.rc) await ignoreNotFound(c.delete(`${this.base}/replicationcontrollers/${name}`, options));
    if (this.sent.service) await ignoreNotFound(c.delete(`${this.base}/services/${name}`, options));
    const deadline = this.now() + (this.o.cleanupTimeoutMs ?? CLEANUP_TIMEOUT_MS);
    for (;;) {
      const pods = await c.get<List<Pod>>(`${this.base}/pods${query({ labelSelector: this.selector })}`);
      if (pods.items.length === 0) break;
      if (this.now() >= deadline) {
        const left = pods.items.map((p) => p.metadata.name).join(', ');
        throw new SmokeError(
          'cleanup',
          `pods still there: ${left}`,
          `kubectl delete pods -l ${this.selector}`,
        );
      }
      await sleep(this.o.pollMs ?? POLL_MS);
    }
    this.say(`cleaned up: ReplicationController, Service and pods of ${this.objs.name} are gone`);
  }

  private asStepError(err: unknown): SmokeError {
    if (err instanceof SmokeError) return err;
    if (this.o.signal?.aborted || (err as Error).name === 'AbortError') {
      return new SmokeError(this.step, 'interrupted', undefined, 'UNAVAILABLE', true);
    }
    if (err instanceof KubeApiError || err instanceof MetalseedError) {
      return new SmokeError(this.step, err.message, err.hint, err.code);
    }
    return new SmokeError(this.step, (err as Error).message ?? String(err), undefined, 'INTERNAL');
  }

  private async pause(): Promise<void> {
    if (this.o.signal?.aborted)
      throw new SmokeError(this.step, 'interrupted', undefined, 'UNAVAILABLE', true);
    await sleep(this.o.pollMs ?? POLL_MS, this.o.signal);
    if (this.o.signal?.aborted)
      throw new SmokeError(this.step, 'interrupted', undefined, 'UNAVAILABLE', true);
  }

  private say(line: string): void {
    const s = ((this.now() - this.t0) / 1000).toFixed(1);
    this.o.print(`${s.padStart(6)}s  ${line}`);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

/** What the pod is doing, in kubectl's words: phase, waiting reason and message, scheduling. */
export function describePod(p: Pod | undefined): string {
  if (!p) return 'no pod was created (is kube-controller-manager running?)';
  const parts = [`pod ${p.metadata.name} is ${p.status?.phase ?? 'Pending'}`];
  if (p.spec?.nodeName) parts.push(`on ${p.spec.nodeName}`);
  const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled)
    parts.push(
      `(not scheduled: ${unscheduled.reason ?? ''} ${unscheduled.message ?? ''})`.replace(/\s+\)/, ')'),
    );
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w)
      parts.push(`(container ${cs.name} waiting: ${w.reason ?? ''}${w.message ? `: ${w.message}` : ''})`);
  }
  return parts.join(' ');
}

function podHint(p: Pod | undefined): string | undefined {
  const reason = p?.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason ?? '';
  if (/ImagePull|ErrImage/.test(reason))
    return 'the node cannot pull the image: check its registry access, or pass --image MIRROR/nginx:TAG';
  if (p && !p.spec?.nodeName) return 'no node can take the pod: are the workers Ready (kubectl get nodes)?';
  return undefined;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
}

/** A plain HTTP GET from this host, as `curl http://NODE:PORT/` does; the body is capped at 64 KiB. */
export function httpGet(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, ...(signal ? { signal } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 65536) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}
