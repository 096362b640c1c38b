/** /machines: list, show by any identifier, edit, approve, delete, and one machine's timeline. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { InventoryService, Machine as MachineT, MachinePatch as Patch } from '../inventory/index.ts';
import { parseMac } from '../lib/net.ts';
import { notFound } from './errors.ts';
import { IdParams, Machine, MachinePatch, noContent, responses, TimelineEvent } from './schemas.ts';

/** One page of a timeline; a client pages on with `afterSeq` = the last seq it got. */
export const MAX_TIMELINE_LIMIT = 1000;
const tags = ['machines'];
const HINT = 'list the machines with GET /api/v1/machines (metalseed machines list)';

export function machineRoutes(app: FastifyInstance, service: InventoryService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/machines',
    { schema: { tags, summary: 'every known machine', response: responses(Type.Array(Machine)) } },
    async () => service.listMachines(),
  );

  api.get(
    '/machines/:ref',
    {
      schema: {
        tags,
        summary: 'one machine by id, any MAC, UUID, serial or hostname',
        params: Type.Object({ ref: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: responses(Machine),
      },
    },
    async (req) => {
      const m = await find(service, req.params.ref);
      if (!m) throw notFound('machine', req.params.ref, HINT);
      return m;
    },
  );

  api.patch(
    '/machines/:id',
    {
      schema: {
        tags,
        summary: 'set role, hostname, profile (null: back to the role profile) or labels (null removes)',
        params: IdParams,
        body: MachinePatch,
        response: responses(Machine),
      },
    },
    async (req) => service.updateMachine(req.params.id, req.body satisfies Patch),
  );

  api.post(
    '/machines/:id/approve',
    {
      schema: { tags, summary: 'let a pending machine boot', params: IdParams, response: responses(Machine) },
    },
    async (req) => service.approveMachine(req.params.id),
  );

  api.delete(
    '/machines/:id',
    {
      schema: {
        tags,
        summary: 'forget a machine (it re-enrols when it boots again)',
        params: IdParams,
        response: noContent,
      },
    },
    async (req, reply) => {
      await service.deleteMachine(req.params.id);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/machines/:id/timeline',
    {
      schema: {
        tags,
        summary: "a machine's boot-chain events, oldest first",
        params: IdParams,
        querystring: Type.Object(
          {
            afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMELINE_LIMIT })),
          },
          { additionalProperties: false },
        ),
        response: responses(Type.Array(TimelineEvent)),
      },
    },
    async (req) => service.timeline(req.params.id, req.query),
  );
}

/** Operators paste MACs in whatever form their tool printed; retry with the canonical form. */
async function find(service: InventoryService, ref: string): Promise<MachineT | undefined> {
  const found = await service.findMachine(ref);
  if (found) return found;
  const mac = parseMac(ref);
  return mac !== null && mac !== ref ? service.findMachine(mac) : undefined;
}
