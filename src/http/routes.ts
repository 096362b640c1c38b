/**
 * Machine-facing HTTP routes (plain HTTP, as firmware needs). Thin: the provisioner decides,
 * a route renders and maps "missing" to an error status.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from '../lib/log.ts';
import type { Provisioner } from '../provisioner/index.ts';

export interface HttpOptions {
  provisioner: Provisioner;
  logger: Logger;
}

const IPXE_TYPE = 'text/plain; charset=utf-8';

export function buildHttp(o: HttpOptions): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  const peer = (req: FastifyRequest) => req.ip.replace(/^::ffff:/, '');

  app.get('/boot.ipxe', async (req, reply) => {
    const mac = o.provisioner.macOf(peer(req));
    o.logger.info({ event: 'http.boot_ipxe', mac, peer: peer(req) }, 'http.boot_ipxe');
    return reply.type(IPXE_TYPE).header('cache-control', 'no-store').send(o.provisioner.bootScript());
  });

  app.get('/ipxe', async (req, reply) => {
    const facts = req.query as Record<string, string | undefined>;
    const result = o.provisioner.machineScript(facts);
    if (!result) {
      o.logger.debug({ event: 'http.bad_request', path: '/ipxe', peer: peer(req) }, 'no valid mac');
      return reply
        .code(400)
        .type(IPXE_TYPE)
        .send('#!ipxe\necho metalseed: /ipxe needs ?mac=52:54:00:00:00:01\nexit 1\n');
    }
    o.provisioner.observe(peer(req), result.mac);
    o.logger.info(
      {
        event: 'http.ipxe',
        mac: result.mac,
        role: result.machine.role,
        profile: result.profile,
        ...pick(facts, ['uuid', 'serial', 'buildarch', 'platform', 'chip', 'product', 'manufacturer']),
        peer: peer(req),
      },
      'http.ipxe',
    );
    return reply.type(IPXE_TYPE).header('cache-control', 'no-store').send(result.script);
  });

  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/** Only facts iPXE actually filled in (an unset setting expands to the empty string). */
function pick(facts: Record<string, string | undefined>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = facts[k];
    if (v) out[k] = v;
  }
  return out;
}
