/**
 * `/assets/`: kernels, initrds and images from `dataDir/assets`, with Range, ETag and
 * Last-Modified (@fastify/static). Each completed download is a boot step on the machine's
 * timeline ("kernel fetched"), found by the client's leased address.
 */
import fs from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Provisioner } from '../provisioner/index.ts';

export const ASSETS_PREFIX = '/assets/';

export function registerAssets(app: FastifyInstance, root: string, p: Provisioner): void {
  fs.mkdirSync(root, { recursive: true });
  app.register(fastifyStatic, {
    root,
    prefix: ASSETS_PREFIX,
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    cacheControl: true,
    maxAge: 0,
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.url.startsWith(ASSETS_PREFIX) || (reply.statusCode !== 200 && reply.statusCode !== 206)) return;
    if (req.method !== 'GET') return;
    const file = decodeURIComponent(req.url.slice(ASSETS_PREFIX.length).split('?')[0] ?? '');
    const bytes = Number(reply.getHeader('content-length') ?? 0);
    const data: Record<string, unknown> = { file, bytes };
    if (reply.statusCode === 206) data.range = req.headers.range;
    p.stepByAddress(req.ip, 'http.asset', data, reply.elapsedTime);
  });
}
