/**
 * The smoke test's objects (the classic nginx-example in today's API, validated by
 * kubernetes-models) and how it words a pod that is stuck.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { apiError } from './errors.ts';
import { describePod, runSmoke, type SmokeClient, type SmokeError } from './smoke.ts';
import { DEFAULT_SMOKE_IMAGE, SMOKE_LABEL, smokeObjects } from './smoke-manifests.ts';

describe('smoke objects', () => {
  it('are the classic example: nginx RC with an HTTP liveness probe on /, and a NodePort Service', () => {
    const o = smokeObjects('ab12c');
    assert.equal(o.name, 'nginx-example-ab12c');
    assert.deepEqual(o.labels, { app: 'nginx', [SMOKE_LABEL]: 'ab12c' });
    assert.equal(o.rc.apiVersion, 'v1');
    assert.equal(o.rc.kind, 'ReplicationController');
    const spec = o.rc.spec as {
      replicas: number;
      selector: Record<string, string>;
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: Record<string, unknown>[] };
      };
    };
    assert.equal(spec.replicas, 1);
    assert.deepEqual(spec.selector, o.labels);
    assert.deepEqual(spec.template.metadata.labels, o.labels, 'the selector selects the template');
    const c = spec.template.spec.containers[0]!;
    assert.equal(c.image, DEFAULT_SMOKE_IMAGE);
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: '/', port: 80 },
      initialDelaySeconds: 30,
      timeoutSeconds: 1,
    });
    assert.equal(o.service.kind, 'Service');
    assert.deepEqual(o.service.spec, {
      type: 'NodePort',
      selector: o.labels,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
    });
  });

  it('take another image, and refuse an invalid one before anything is sent', () => {
    assert.equal(
      (
        smokeObjects('x', 'mirror.lab:5000/nginx:1.27').rc.spec as {
          template: { spec: { containers: { image: string }[] } };
        }
      ).template.spec.containers[0]!.image,
      'mirror.lab:5000/nginx:1.27',
    );
    assert.throws(() => smokeObjects('x', 42 as unknown as string));
  });
});

describe('describePod', () => {
  it('says where a pod is stuck, in kubectl words', () => {
    assert.match(describePod(undefined), /no pod was created/);
    assert.equal(
      describePod({
        metadata: { name: 'p' },
        status: {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/1 nodes are available',
            },
          ],
        },
      }),
      'pod p is Pending (not scheduled: Unschedulable 0/1 nodes are available)',
    );
    assert.equal(
      describePod({
        metadata: { name: 'p' },
        spec: { nodeName: 'worker-01' },
        status: {
          phase: 'Pending',
          containerStatuses: [
            { name: 'nginx', state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } },
          ],
        },
      }),
      'pod p is Pending on worker-01 (container nginx waiting: ErrImagePull: not found)',
    );
  });
});

/** An in-memory cluster whose pod list fails as scripted; the NodePort is a real loopback server. */
function stubClient(nodePort: number, podErrors: (number | null)[]): SmokeClient & { calls: string[] } {
  const calls: string[] = [];
  let deleted = false;
  const pod = {
    metadata: { name: 'nginx-example-x-1' },
    spec: { nodeName: 'worker-01' },
    status: { phase: 'Running', podIP: '10.2.1.9' },
  };
  return {
    calls,
    server: 'https://stub',
    async get<T>(path: string): Promise<T> {
      calls.push(`GET ${path.split('?')[0]}`);
      if (path === '/version') return { gitVersion: 'v1.36.2' } as T;
      if (path === '/api/v1/nodes') return { items: [] } as T;
      if (path === '/api/v1/nodes/worker-01') {
        return { metadata: {}, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } } as T;
      }
      const code = podErrors.shift();
      if (code) throw apiError('GET pods', code, { message: 'scripted' });
      return { items: deleted ? [] : [pod] } as T;
    },
    async create<T>(path: string): Promise<T> {
      calls.push(`POST ${path}`);
      return { metadata: {}, spec: { ports: [{ port: 80, nodePort }] } } as T;
    },
    async delete<T>(path: string): Promise<T> {
      calls.push(`DELETE ${path}`);
      deleted = true;
      return {} as T;
    },
  };
}

describe('runSmoke', () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((_req, res) => res.end('<html><title>Welcome to nginx!</title></html>'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  it('waits out an API server that blinks (503) while the pod starts', async () => {
    const client = stubClient(port, [503, 503, null]);
    const lines: string[] = [];
    const r = await runSmoke({
      client,
      namespace: 'default',
      pollMs: 5,
      print: (l) => lines.push(l),
      runId: 'abcde',
    });
    assert.equal(r.status, 200);
    assert.equal(r.title, 'Welcome to nginx!');
    assert.equal(r.url, `http://127.0.0.1:${port}/`);
    assert.ok(
      client.calls.includes('DELETE /api/v1/namespaces/default/replicationcontrollers/nginx-example-abcde'),
    );
  });

  it('a refusal (403) is not waited out: the step fails at once, and cleanup still runs', async () => {
    const client = stubClient(port, [403]);
    await assert.rejects(
      runSmoke({ client, namespace: 'default', pollMs: 5, print: () => {}, runId: 'abcde' }),
      (e: SmokeError) => e.step === 'schedule' && e.code === 'ACCESS_DENIED' && /403/.test(e.message),
    );
    assert.deepEqual(
      client.calls.filter((c) => c.startsWith('DELETE')),
      [
        'DELETE /api/v1/namespaces/default/replicationcontrollers/nginx-example-abcde',
        'DELETE /api/v1/namespaces/default/services/nginx-example-abcde',
      ],
    );
  });
});
