/**
 * The API over the real ProvisionerService (memory store), not the fake: guards against the
 * response schemas and the service drifting apart (a dropped field, a 500 from serialization).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import { silentLogger } from '../lib/log.ts';
import { ProvisionerService } from '../provisioner/index.ts';
import { registerApi } from './register.ts';
import { TEST_TOKEN } from './testing.ts';
import { tokenCheck } from './token.ts';

let app: FastifyInstance;
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

before(async () => {
  const { p } = await testProvisioner(
    'machines:\n  - { mac: "52:54:00:00:00:01", role: controller, hostname: cp-01 }\n',
  );
  app = Fastify({ logger: false });
  registerApi(app, {
    service: new ProvisionerService(p),
    token: tokenCheck(TEST_TOKEN),
    logger: silentLogger,
  });
  await app.ready();
});
after(() => app.close());

const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });

test('lists serialize', async () => {
  for (const url of ['/machines', '/rules', '/profiles']) {
    const r = await call('GET', url);
    assert.equal(r.statusCode, 200, url);
    assert.ok(Array.isArray(r.json()), url);
  }
});

test('a rule and a profile round-trip through PUT, GET and DELETE', async () => {
  const rule = { match: { arch: ['EFI_ARM64'] }, set: { role: 'worker' } };
  const put = await call('PUT', '/rules/arm', rule);
  assert.equal(put.statusCode, 200, put.body);
  assert.deepEqual(put.json().match, rule.match);
  assert.ok((await call('GET', '/rules')).json().some((r: { name: string }) => r.name === 'arm'));
  assert.equal((await call('DELETE', '/rules/arm')).statusCode, 204);
  const profile = await call('PUT', '/profiles/tiny', { kernel: '/assets/k', args: ['quiet'] });
  assert.equal(profile.statusCode, 200, profile.body);
  assert.deepEqual(profile.json().args, ['quiet']);
  assert.equal((await call('DELETE', '/profiles/tiny')).statusCode, 204);
});

test("the service's own input errors and missing machines map through the table", async () => {
  const bad = await call('PUT', '/rules/x', { match: { arch: ['not-an-arch'] }, set: {} });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, 'INVALID_INPUT');
  const missing = await call('GET', '/machines/ghost/timeline');
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, 'NOT_FOUND');
});

test('preview renders an iPXE script for a configured MAC', async () => {
  const r = await call('GET', '/preview?mac=52-54-00-00-00-01');
  assert.equal(r.statusCode, 200, r.body);
  assert.match(r.json().ipxe, /^#!ipxe\n/);
  assert.match(r.json().ipxe, /cp-01/);
});
