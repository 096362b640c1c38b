/** /arm: controller enrolment (k8s-bootstrap.md section 6 rule 3, "operator arm action"). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { InventoryService } from '../inventory/index.ts';
import { parseDuration } from '../lib/duration.ts';
import { MetalseedError } from '../lib/errors.ts';
import { responses } from './schemas.ts';

const ArmState = Type.Object({
  role: Type.Literal('controller'),
  armed: Type.Boolean(),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const ArmInput = Type.Object(
  {
    role: Type.Literal('controller'),
    for: Type.String({ description: 'how long, e.g. 30m, 1h', examples: ['30m'] }),
  },
  { additionalProperties: false },
);

export function armRoutes(app: FastifyInstance, service: InventoryService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get('/arm', { schema: { tags: ['arm'], response: responses(ArmState) } }, async () =>
    service.armState(),
  );
  api.post(
    '/arm',
    {
      schema: {
        tags: ['arm'],
        summary: 'let controllers fetch their secret stage (once each) for a while',
        body: ArmInput,
        response: responses(ArmState),
      },
    },
    async (req) => {
      const seconds = parseDuration(req.body.for);
      if (seconds === null || seconds === 0) {
        throw new MetalseedError('INVALID_INPUT', `for: "${req.body.for}" is not a duration like 30m`);
      }
      return service.arm(req.body.role, seconds);
    },
  );
  api.delete('/arm', { schema: { tags: ['arm'], response: responses(ArmState) } }, async () =>
    service.disarm(),
  );
}
