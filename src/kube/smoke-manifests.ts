/**
 * The classic first deployment (the 2016 write-up's nginx-example.yaml) in today's API: a
 * core/v1 ReplicationController keeping one nginx pod with an HTTP liveness probe on `/`, and
 * a NodePort Service in front of it. core/v1 ReplicationController is still served (Deployments
 * replaced it in practice, not in the API). Each run gets its own suffix and label, so a run
 * never touches another's objects; both are validated with kubernetes-models before sending.
 */
import { ReplicationController } from 'kubernetes-models/v1/ReplicationController';
import { Service } from 'kubernetes-models/v1/Service';

/** A pinned, multi-arch tag that always exists; `--image` points at a mirror instead. */
export const DEFAULT_SMOKE_IMAGE = 'docker.io/library/nginx:stable';
/** The label that marks (and selects) one smoke run's objects. */
export const SMOKE_LABEL = 'metalseed.io/smoke';
const HTTP_PORT = 80;

export interface SmokeObjects {
  name: string;
  labels: Record<string, string>;
  rc: Record<string, unknown>;
  service: Record<string, unknown>;
}

export function smokeObjects(runId: string, image = DEFAULT_SMOKE_IMAGE): SmokeObjects {
  const name = `nginx-example-${runId}`;
  const labels = { app: 'nginx', [SMOKE_LABEL]: runId };
  const rc = new ReplicationController({
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: labels,
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'nginx',
              image,
              ports: [{ name: 'http', containerPort: HTTP_PORT }],
              // as in the classic example: the kubelet restarts nginx if `/` stops answering
              livenessProbe: {
                httpGet: { path: '/', port: HTTP_PORT },
                initialDelaySeconds: 30,
                timeoutSeconds: 1,
              },
            },
          ],
        },
      },
    },
  });
  const service = new Service({
    metadata: { name, labels },
    spec: {
      type: 'NodePort',
      selector: labels,
      ports: [{ name: 'http', port: HTTP_PORT, protocol: 'TCP', targetPort: HTTP_PORT }],
    },
  });
  rc.validate();
  service.validate();
  return {
    name,
    labels,
    rc: rc.toJSON() as Record<string, unknown>,
    service: service.toJSON() as Record<string, unknown>,
  };
}
