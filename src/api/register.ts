/**
 * The operator API under /api/v1, mounted on the seed's one fastify instance. Everything here
 * is encapsulated in one plugin context: its validator, error handler, 404 handler and auth
 * hook do not touch the machine-facing routes (http/routes.ts), which firmware calls without
 * a token and which must keep answering in plain text.
 */
import swagger from '@fastify/swagger';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InventoryService } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { armRoutes } from './arm.ts';
import { catalogRoutes } from './catalog.ts';
import { errorBody, errorHandler, formatValidation } from './errors.ts';
import { type EventsOptions, eventRoutes } from './events.ts';
import { machineRoutes } from './machines.ts';
import type { TokenCheck } from './token.ts';

export const API_PREFIX = '/api/v1';
export const API_VERSION = '1.0.0';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token (only the OpenAPI document). */
    public?: boolean;
  }
}

export interface ApiOptions extends EventsOptions {
  service: InventoryService;
  token: TokenCheck;
  logger: Logger;
}

/**
 * Registers the API; call it before `app.listen()`/`app.ready()` (fastify loads plugins then).
 * `app.close()` ends open event streams, so the seed still shuts down promptly.
 */
export function registerApi(app: FastifyInstance, opts: ApiOptions): void {
  app.register(
    async (api) => {
      // TypeBox's compiler instead of fastify's shared Ajv: the app-wide Ajv has
      // removeAdditional=true, which would silently drop unknown keys instead of rejecting them
      api.setValidatorCompiler(TypeBoxValidatorCompiler);
      api.setSchemaErrorFormatter(formatValidation);
      api.setErrorHandler(errorHandler(opts.logger));
      api.setNotFoundHandler((req, reply) => {
        reply
          .code(404)
          .send(errorBody('NOT_FOUND', `no API route ${req.method} ${req.url}`, 'see /api/v1/openapi.json'));
      });
      api.addHook('onRequest', async (req) => authenticate(req, opts.token));
      // an audit trail of operator changes; reads are too frequent to be worth a line each
      api.addHook('onResponse', async (req, reply) => {
        if (req.method === 'GET' || req.method === 'HEAD') return;
        const fields = {
          event: 'api.change',
          method: req.method,
          url: req.url,
          status: reply.statusCode,
          peer: req.ip,
        };
        opts.logger.info(fields, 'api change');
      });
      await api.register(swagger, { openapi: openapiInfo() });

      // Open on purpose: the document holds no data, and generators/linters fetch it untokened.
      api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
        api.swagger(),
      );
      machineRoutes(api, opts.service);
      catalogRoutes(api, opts.service);
      eventRoutes(api, opts);
      armRoutes(api, opts.service);
    },
    { prefix: API_PREFIX },
  );
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

async function authenticate(req: FastifyRequest, check: TokenCheck): Promise<void> {
  if (req.routeOptions.config.public) return;
  const presented = BEARER.exec(req.headers.authorization ?? '')?.[1];
  if (!check(presented)) {
    throw new MetalseedError(
      'UNAUTHORIZED',
      presented === undefined ? 'missing bearer token' : 'wrong API token',
      'send "Authorization: Bearer <token>"; the token is in <dataDir>/api-token on the seed',
    );
  }
}

function openapiInfo() {
  return {
    // 3.1: its schemas are plain JSON Schema, so nullable fields ({type: "null"}) are valid
    openapi: '3.1.0',
    info: {
      title: 'metalseed operator API',
      version: API_VERSION,
      description:
        'Machines, rules, profiles, preview and the live event stream of a metalseed seed. ' +
        'Every route needs "Authorization: Bearer <token>" (the token is in <dataDir>/api-token).',
    },
    components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  };
}
