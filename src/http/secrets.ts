/**
 * The https listener for controllers' secret stage (k8s-bootstrap.md section 6 rule 3): one
 * route, GET /secrets/<machine id>.ign with `Authorization: Bearer <token>`. Thin: the
 * provisioner checks the token, the address and the arming, and records every refusal.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Provisioner } from '../provisioner/index.ts';
import { peer } from './peer.ts';

export interface SecretsHttpOptions {
  provisioner: Provisioner;
  tls: { certPem: string; keyPem: string };
}

const BEARER_RE = /^Bearer ([A-Za-z0-9_-]{16,128})$/;

export function buildSecretsHttp(o: SecretsHttpOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    return503OnClosing: true,
    bodyLimit: 1024,
    https: { cert: o.tls.certPem, key: o.tls.keyPem, minVersion: 'TLSv1.2' },
  });
  app.get('/secrets/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const id = /^(m-[0-9a-f]{12})\.ign$/.exec(file)?.[1];
    const bearer = BEARER_RE.exec(req.headers.authorization ?? '')?.[1];
    if (!id)
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no secret stage ${file}` } });
    const out = o.provisioner.secretStageFor(id, bearer ?? '', peer(req));
    if (!out.ok) return reply.code(out.status).send({ error: { code: out.code, message: out.message } });
    return reply.type(out.contentType).header('cache-control', 'no-store').send(out.body);
  });
  return app;
}
