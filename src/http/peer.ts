import type { FastifyRequest } from 'fastify';

/** The client's IPv4 address as machines are known by it (without the IPv4-mapped prefix). */
export const peer = (req: FastifyRequest): string => req.ip.replace(/^::ffff:/, '');
