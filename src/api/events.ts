/**
 * GET /events: every TimelineEvent as a server-sent event (WHATWG HTML, "Server-sent events"):
 * `id: <seq>`, `event: <type>`, `data: <json>`. The stream is live only: a reconnecting client's
 * Last-Event-ID is not replayed; it catches up with GET /machines/:id/timeline?afterSeq=<id>.
 */

import type { ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { InventoryService, TimelineEvent } from '../inventory/index.ts';
import type { Logger } from '../lib/log.ts';
import { responses } from './schemas.ts';

/** Below the 30–60 s idle timeouts of common proxies and load balancers. */
export const KEEPALIVE_MS = 15_000;
/**
 * A client that stops reading is dropped once this much is queued for it, so one stuck
 * terminal cannot grow the seed's memory without bound; it reconnects and catches up.
 */
export const MAX_BUFFERED_BYTES = 1 << 20;

export interface EventsOptions {
  /** Tests shorten the keep-alive interval. */
  keepAliveMs?: number;
}

interface Deps extends EventsOptions {
  service: InventoryService;
  logger: Logger;
}

export function eventRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const open = new Set<ServerResponse>();
  // preClose, not onClose: fastify waits for in-flight requests before onClose, and a stream
  // never finishes by itself
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  api.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'live timeline events of every machine (text/event-stream); no replay of Last-Event-ID',
        querystring: Type.Object(
          { machine: Type.Optional(Type.String({ minLength: 1, description: 'only this machine id' })) },
          { additionalProperties: false },
        ),
        response: responses(Type.String({ description: 'text/event-stream' })),
      },
    },
    (req, reply) => {
      const only = req.query.machine;
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // nginx buffers responses by default; an event stream must pass through at once
        'x-accel-buffering': 'no',
      });
      res.write(': metalseed events\n\n');
      open.add(res);

      const unsubscribe = deps.service.subscribe((e) => {
        if (only !== undefined && e.machineId !== only) return;
        res.write(formatEvent(e));
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          deps.logger.warn({ event: 'api.events.dropped', peer: req.ip }, 'event client too slow, dropped');
          res.destroy();
        }
      });
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), deps.keepAliveMs ?? KEEPALIVE_MS);
      res.once('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
        open.delete(res);
        deps.logger.debug({ event: 'api.events.closed', peer: req.ip }, 'event client gone');
      });
      deps.logger.debug({ event: 'api.events.open', peer: req.ip, machine: only }, 'event client');
    },
  );
}

/** One SSE message; JSON.stringify never emits a raw newline, so `data:` stays one line. */
export function formatEvent(e: TimelineEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}
