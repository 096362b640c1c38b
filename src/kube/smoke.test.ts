/**
 * The smoke test's objects (the classic nginx-example in today's API, validated by
 * kubernetes-models) and how it words a pod that is stuck.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePod } from './smoke.ts';
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
