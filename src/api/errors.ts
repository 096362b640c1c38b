/**
 * Maps anything a handler throws to the one error body, with the HTTP status taken from the
 * code table in lib/errors.ts. Unknown errors become INTERNAL without their message or stack:
 * those can carry paths and SQL that the operator's client has no use for (they are logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, ErrorCodes, MetalseedError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { ErrorBodyT } from './schemas.ts';

export function errorBody(code: ErrorCode, message: string, hint?: string): ErrorBodyT {
  return { error: { code, message, ...(hint ? { hint } : {}) } };
}

/** The status and body for a thrown value. */
export function toErrorReply(err: unknown): { status: number; body: ErrorBodyT } {
  if (err instanceof MetalseedError) {
    return { status: ErrorCodes[err.code].http, body: errorBody(err.code, err.message, err.hint) };
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) {
    // schema validation: fastify's message names the part and the path ("body/match/mac/0 ...")
    return {
      status: ErrorCodes.INVALID_INPUT.http,
      body: errorBody('INVALID_INPUT', fe.message ?? 'invalid request', 'see /api/v1/openapi.json'),
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own client errors (bad JSON, unsupported media type, body too large) are input
    // errors too; the table, not fastify, decides the status so clients see one vocabulary
    return {
      status: ErrorCodes.INVALID_INPUT.http,
      body: errorBody('INVALID_INPUT', fe.message ?? 'bad request'),
    };
  }
  return {
    status: ErrorCodes.INTERNAL.http,
    body: errorBody('INTERNAL', 'internal error', 'see the seed log'),
  };
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, body } = toErrorReply(err);
    const fields = { event: 'api.error', method: req.method, url: req.url, code: body.error.code, status };
    if (status >= 500) logger.error({ ...fields, err }, 'api request failed');
    else logger.debug({ ...fields, message: body.error.message }, 'api request rejected');
    return reply.code(status).send(body);
  };
}

export function notFound(what: string, ref: string, hint?: string): MetalseedError {
  return new MetalseedError('NOT_FOUND', `no ${what} matches "${ref}"`, hint);
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * One readable sentence per problem, e.g. `body/match: unknown property "labelz"`. TypeBox
 * reports an unknown key twice (as `schema is false` on the key and as additionalProperties on
 * the object); only the second names the key in words, so the first is dropped.
 */
export function formatValidation(errors: SchemaError[], part: string): Error {
  const lines = errors
    .filter((e) => !(e.keyword === 'boolean' && e.message === 'schema is false'))
    .map((e) => {
      const at = `${part}${e.instancePath}`;
      const extra = e.params['additionalProperties'];
      if (e.keyword === 'additionalProperties' && Array.isArray(extra)) {
        return `${at}: unknown ${extra.length > 1 ? 'properties' : 'property'} ${extra.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${at} ${e.message ?? 'is invalid'}`;
    });
  return new Error(lines.join('; '));
}
