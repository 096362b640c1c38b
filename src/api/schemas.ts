/**
 * JSON Schemas of the operator API (TypeBox builds plain JSON Schema). Request schemas close
 * their objects (`additionalProperties: false`) so a misspelled selector key is a 400, not a
 * silently broader rule; response schemas stay open so fields the provisioner adds later are
 * not dropped by the serializer.
 */
import { type Static, Type } from 'typebox';
import { MACHINE_STATES } from '../inventory/index.ts';

/** Accepts the forms `parseMac` accepts (colons, dashes, bare hex); handlers canonicalise. */
export const MAC_PATTERN = '^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\\1[0-9A-Fa-f]{2}){4}$';
/** RFC 1123 DNS subdomain, lower-case: what Kubernetes accepts as a Node name. */
const HOSTNAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Rule and profile names appear in file names and URLs: keep them to a safe alphabet. */
const NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
/** Label keys and values follow Kubernetes' shape loosely (prefix/name, 63-char values). */
const LABEL_KEY_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$';
const LABEL_VALUE = Type.String({ maxLength: 63 });

const open = { additionalProperties: true };
const closed = { additionalProperties: false };

export const Name = Type.String({ pattern: NAME_PATTERN });
export const Hostname = Type.String({ pattern: HOSTNAME_PATTERN, maxLength: 253 });
export const Mac = Type.String({ pattern: MAC_PATTERN });
const Labels = Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), LABEL_VALUE);

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), hint: Type.Optional(Type.String()) }),
});
export type ErrorBodyT = Static<typeof ErrorBody>;

export const Machine = Type.Object(
  {
    id: Type.String(),
    hostname: Type.String(),
    role: Type.String(),
    profile: Type.Optional(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    macs: Type.Array(Type.String()),
    uuid: Type.Optional(Type.String()),
    serial: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    arch: Type.Optional(Type.String()),
    addresses: Type.Array(Type.String()),
    state: Type.Enum([...MACHINE_STATES]),
    hostnameSource: Type.Union([
      Type.Literal('generated'),
      Type.Literal('config'),
      Type.Literal('rule'),
      Type.Literal('operator'),
    ]),
    provisionedAt: Type.Optional(Type.String({ description: 'first finished provisioning (ISO 8601)' })),
    firstSeen: Type.String(),
    lastSeen: Type.String(),
    version: Type.Integer(),
  },
  open,
);

export const MachinePatch = Type.Object(
  {
    role: Type.Optional(Name),
    hostname: Type.Optional(Hostname),
    /** null returns the machine to its role's profile. */
    profile: Type.Optional(Type.Union([Name, Type.Null()])),
    /** Merged into the labels; a null value removes that label. */
    labels: Type.Optional(
      Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), Type.Union([LABEL_VALUE, Type.Null()])),
    ),
  },
  { ...closed, minProperties: 1 },
);

export const TimelineEvent = Type.Object(
  {
    machineId: Type.String(),
    seq: Type.Integer(),
    time: Type.String(),
    type: Type.String(),
    mac: Type.Optional(Type.String()),
    durationMs: Type.Optional(Type.Number()),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  open,
);

const StringList = Type.Array(Type.String({ minLength: 1 }), { minItems: 1 });

export const Rule = Type.Object(
  {
    /** Optional in a PUT body (the path names the rule); must equal the path when given. */
    name: Type.Optional(Name),
    match: Type.Object(
      {
        mac: Type.Optional(Type.Array(Mac, { minItems: 1 })),
        uuid: Type.Optional(StringList),
        serial: Type.Optional(StringList),
        arch: Type.Optional(StringList),
        firmware: Type.Optional(StringList),
        labels: Type.Optional(Labels),
        hostname: Type.Optional(Type.String({ minLength: 1 })),
        cidr: Type.Optional(StringList),
      },
      closed,
    ),
    set: Type.Object(
      { role: Type.Optional(Name), profile: Type.Optional(Name), labels: Type.Optional(Labels) },
      closed,
    ),
    priority: Type.Optional(Type.Integer()),
  },
  closed,
);

const ProfileConfig = Type.Union([
  Type.Object({ kind: Type.Literal('ignition-role') }, closed),
  Type.Object(
    {
      kind: Type.Literal('template'),
      format: Type.Union([Type.Literal('ignition'), Type.Literal('cloud-config'), Type.Literal('plain')]),
      template: Type.String(),
    },
    closed,
  ),
]);

/** Request shape: everything but the kernel has a default (see catalog.ts). */
export const ProfileInput = Type.Object(
  {
    name: Type.Optional(Name),
    kernel: Type.String({ minLength: 1 }),
    initrds: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    args: Type.Optional(Type.Array(Type.String())),
    efiBinary: Type.Optional(Type.Union([Type.Literal('ipxe'), Type.Literal('snponly')])),
    config: Type.Optional(ProfileConfig),
  },
  closed,
);

export const Profile = Type.Object(
  {
    name: Type.String(),
    kernel: Type.String(),
    initrds: Type.Array(Type.String()),
    args: Type.Array(Type.String()),
    efiBinary: Type.String(),
    config: Type.Record(Type.String(), Type.Unknown()),
  },
  open,
);

export const Preview = Type.Object(
  {
    machine: Type.Union([Machine, Type.Null()]),
    rule: Type.Union([Type.String(), Type.Null()]),
    profile: Type.String(),
    ipxe: Type.String(),
    config: Type.Object({ contentType: Type.String(), body: Type.String() }),
  },
  open,
);

export const NameParams = Type.Object({ name: Name });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

/** Response shape of a rule: the same fields, open for additions, name always present. */
export const RuleOut = Type.Object({ ...Rule.properties, name: Type.String() }, open);

/** Shared `response` map: the success schema plus the one error body for every failure. */
export function responses<T>(ok: T) {
  return { 200: ok, '4xx': ErrorBody, '5xx': ErrorBody } as const;
}

/** For DELETE: 204 and no body. */
export const noContent = {
  204: Type.Null({ description: 'done, no body' }),
  '4xx': ErrorBody,
  '5xx': ErrorBody,
};
