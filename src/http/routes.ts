/**
 * Machine-facing HTTP routes (plain HTTP, as firmware needs). Thin: the provisioner decides,
 * a route renders and maps "missing" to an error status.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../lib/log.ts';
import { parseMac } from '../lib/net.ts';
import type { Provisioner } from '../provisioner/index.ts';
import { registerAssets } from './assets.ts';
import { peer } from './peer.ts';
import { parseReport } from './report.ts';

export interface HttpOptions {
  provisioner: Provisioner;
  logger: Logger;
  /** `dataDir/assets`, served at /assets/. */
  assetsDir?: string;
  /** Hooks and routes of other modules (metrics, operator API), added before these routes. */
  extensions?: readonly ((app: FastifyInstance) => void)[];
}

const IPXE_TYPE = 'text/plain; charset=utf-8';

export function buildHttp(o: HttpOptions): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true, bodyLimit: 1 << 20 });
  const p = o.provisioner;
  for (const extend of o.extensions ?? []) extend(app);
  if (o.assetsDir) registerAssets(app, o.assetsDir, p);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get('/boot.ipxe', async (req, reply) => {
    const mac = p.stepByAddress(peer(req), 'http.boot_ipxe', {});
    o.logger.info({ event: 'http.boot_ipxe', mac, peer: peer(req) }, 'http.boot_ipxe');
    return reply.type(IPXE_TYPE).header('cache-control', 'no-store').send(p.bootScript());
  });

  app.get('/ipxe', async (req, reply) => {
    const facts = req.query as Record<string, string | undefined>;
    const result = p.machineScript(facts, peer(req));
    if (!result) {
      o.logger.debug({ event: 'http.bad_request', path: '/ipxe', peer: peer(req) }, 'no valid mac');
      return reply
        .code(400)
        .type(IPXE_TYPE)
        .send('#!ipxe\necho metalseed: /ipxe needs ?mac=52:54:00:00:00:01\nexit 1\n');
    }
    const m = result.machine;
    o.logger.info(
      {
        event: 'http.ipxe',
        mac: parseMac(facts.mac ?? ''),
        id: m.id,
        role: m.role,
        profile: result.profile,
        platform: facts.platform,
        peer: peer(req),
      },
      'http.ipxe',
    );
    return reply.type(IPXE_TYPE).header('cache-control', 'no-store').send(result.script);
  });

  app.get('/ignition', async (req, reply) => {
    const mac = parseMac((req.query as Record<string, string | undefined>).mac ?? '');
    if (!mac)
      return reply.code(400).send({ error: { code: 'INVALID_INPUT', message: '/ignition needs ?mac=' } });
    p.observe(peer(req), mac);
    const m = p.machineFor({ mac, address: peer(req) });
    const out = p.configFor(m, peer(req));
    if (!out.ok) {
      o.logger.info(
        { event: 'http.ignition_refused', mac, id: m.id, reason: out.message },
        'http.ignition_refused',
      );
      return reply.code(out.status).send({ error: { code: out.code, message: out.message, hint: out.hint } });
    }
    o.logger.info(
      { event: 'http.ignition', mac, id: m.id, bytes: out.body.length, peer: peer(req) },
      'http.ignition',
    );
    return reply.type(out.contentType).header('cache-control', 'no-store').send(out.body);
  });

  app.post('/report', async (req, reply) => {
    const mac = parseMac((req.query as Record<string, string | undefined>).mac ?? '');
    if (!mac)
      return reply.code(400).send({ error: { code: 'INVALID_INPUT', message: '/report needs ?mac=' } });
    const report = parseReport(req.body);
    const m = p.machineFor({ mac, address: report.address ?? peer(req) });
    const type = report.result === 'failed' ? 'report.failed' : 'report';
    p.timeline.record(m, type, { ...report, peer: peer(req) }, { mac });
    o.logger.info(
      { event: `http.${type}`, mac, id: m.id, result: report.result, peer: peer(req) },
      'first-boot report',
    );
    return reply.code(204).send();
  });

  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
