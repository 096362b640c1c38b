/** /rules, /profiles (both keyed by name, replaced whole by PUT) and /preview. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { InventoryService, ProfileSpec, Rule as RuleT } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { parseMac } from '../lib/net.ts';
import {
  Mac,
  NameParams,
  noContent,
  Preview,
  Profile,
  ProfileInput,
  Rule,
  RuleOut,
  responses,
} from './schemas.ts';

/** ipxe.efi brings its own NIC drivers, so it boots on firmware whose SNP driver is broken. */
export const DEFAULT_EFI_BINARY = 'ipxe';
/** The built-in generator renders Ignition for the machine's role: no template needed. */
export const DEFAULT_PROFILE_CONFIG = { kind: 'ignition-role' } as const;

export function catalogRoutes(app: FastifyInstance, service: InventoryService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get('/rules', { schema: { tags: ['rules'], response: responses(Type.Array(RuleOut)) } }, async () =>
    service.listRules(),
  );
  api.put(
    '/rules/:name',
    {
      schema: {
        tags: ['rules'],
        summary: 'create or replace a rule; 409 RULE_AMBIGUOUS when the rule set would be ambiguous',
        params: NameParams,
        body: Rule,
        response: responses(RuleOut),
      },
    },
    async (req) => service.putRule(toRule(req.params.name, req.body)),
  );
  api.delete(
    '/rules/:name',
    { schema: { tags: ['rules'], params: NameParams, response: noContent } },
    async (req, reply) => {
      await service.deleteRule(req.params.name);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/profiles',
    { schema: { tags: ['profiles'], response: responses(Type.Array(Profile)) } },
    async () => service.listProfiles(),
  );
  api.put(
    '/profiles/:name',
    {
      schema: {
        tags: ['profiles'],
        summary: 'create or replace a profile',
        params: NameParams,
        body: ProfileInput,
        response: responses(Profile),
      },
    },
    async (req) => service.putProfile(toProfile(req.params.name, req.body)),
  );
  api.delete(
    '/profiles/:name',
    { schema: { tags: ['profiles'], params: NameParams, response: noContent } },
    async (req, reply) => {
      await service.deleteProfile(req.params.name);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/preview',
    {
      schema: {
        tags: ['preview'],
        summary: 'what a machine with these facts would boot, without recording anything',
        querystring: Type.Object(
          { mac: Mac, uuid: Type.Optional(Type.String()), arch: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
        response: responses(Preview),
      },
    },
    async (req) => service.preview({ ...req.query, mac: parseMac(req.query.mac)! }),
  );
}

/** The path names the object; a body that names another one is a mistake worth stopping. */
function checkName(kind: string, path: string, body: string | undefined): void {
  if (body !== undefined && body !== path) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `${kind} name "${body}" in the body differs from "${path}" in the path`,
    );
  }
}

function toRule(name: string, body: Static<typeof Rule>): RuleT {
  checkName('rule', name, body.name);
  const { mac, ...match } = body.match;
  return { ...body, name, match: { ...match, ...(mac ? { mac: mac.map((m) => parseMac(m)!) } : {}) } };
}

function toProfile(name: string, body: Static<typeof ProfileInput>): ProfileSpec {
  checkName('profile', name, body.name);
  return {
    name,
    kernel: body.kernel,
    initrds: body.initrds ?? [],
    args: body.args ?? [],
    efiBinary: body.efiBinary ?? DEFAULT_EFI_BINARY,
    config: body.config ?? DEFAULT_PROFILE_CONFIG,
  };
}
