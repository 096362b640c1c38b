/** Cross-cutting behaviour of the API: auth, the error body and code table, OpenAPI. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { type ErrorCode, ErrorCodes, MetalseedError } from '../lib/errors.ts';
import { recordingLogger, silentLogger } from '../lib/log.ts';
import { registerApi } from './register.ts';
import { FakeInventory, TEST_TOKEN, testApi } from './testing.ts';
import { tokenCheck } from './token.ts';

/** Every route registerApi must document (the contract the CLI and dashboard rely on). */
const ROUTES: [string, string][] = [
  ['get', '/api/v1/machines'],
  ['get', '/api/v1/machines/{ref}'],
  ['patch', '/api/v1/machines/{id}'],
  ['post', '/api/v1/machines/{id}/approve'],
  ['delete', '/api/v1/machines/{id}'],
  ['get', '/api/v1/machines/{id}/timeline'],
  ['get', '/api/v1/rules'],
  ['put', '/api/v1/rules/{name}'],
  ['delete', '/api/v1/rules/{name}'],
  ['get', '/api/v1/profiles'],
  ['put', '/api/v1/profiles/{name}'],
  ['delete', '/api/v1/profiles/{name}'],
  ['get', '/api/v1/preview'],
  ['get', '/api/v1/events'],
  ['get', '/api/v1/arm'],
  ['post', '/api/v1/arm'],
  ['delete', '/api/v1/arm'],
];

test('every API route needs the bearer token: missing or wrong is 401 UNAUTHORIZED', async () => {
  const { app } = await testApi();
  for (const [method, route] of ROUTES) {
    const url = route.replace(/\{\w+\}/g, 'x');
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TEST_TOKEN }]) {
      const r = await app.inject({ method: method.toUpperCase() as 'GET', url, headers });
      assert.equal(r.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}`);
      assert.equal(r.json().error.code, 'UNAUTHORIZED');
    }
  }
  const unknown = await app.inject({ url: '/api/v1/nothing-here' });
  assert.equal(unknown.statusCode, 401, 'unknown paths do not reveal what exists');
  await app.close();
});

test('the scheme name is case-insensitive, the token is not', async () => {
  const { app } = await testApi();
  const ok = await app.inject({ url: '/api/v1/rules', headers: { authorization: `bearer  ${TEST_TOKEN}` } });
  assert.equal(ok.statusCode, 200);
  const bad = await app.inject({
    url: '/api/v1/rules',
    headers: { authorization: `Bearer ${TEST_TOKEN.toUpperCase()}` },
  });
  assert.equal(bad.statusCode, 401);
  await app.close();
});

test('an unknown API path is a 404 in the error body; machine-facing routes are untouched', async () => {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ ok: true })); // stands in for http/routes.ts
  registerApi(app, { service: new FakeInventory(), token: tokenCheck(TEST_TOKEN), logger: silentLogger });
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const r = await app.inject({ url: '/api/v1/nothing-here', headers: auth });
  assert.equal(r.statusCode, 404);
  assert.equal(r.json().error.code, 'NOT_FOUND');
  const plain = await app.inject({ url: '/healthz' });
  assert.deepEqual(plain.json(), { ok: true }, 'no token needed outside /api/v1');
  await app.close();
});

test('each error code reaches the client with the status of the code table', async () => {
  const { app, service, auth } = await testApi();
  for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
    service.failWith = new MetalseedError(code, `failing with ${code}`, 'a hint');
    const r = await app.inject({ url: '/api/v1/machines', headers: auth });
    assert.equal(r.statusCode, ErrorCodes[code].http, code);
    assert.deepEqual(r.json(), { error: { code, message: `failing with ${code}`, hint: 'a hint' } });
  }
  await app.close();
});

test('an unexpected error is 500 INTERNAL without its message or stack; the log keeps them', async () => {
  const log = recordingLogger();
  const { app, service, auth } = await testApi({ logger: log });
  service.failWith = new Error('SQLITE_CORRUPT at /var/lib/metalseed/db.sqlite');
  const r = await app.inject({ url: '/api/v1/rules', headers: auth });
  assert.equal(r.statusCode, 500);
  assert.deepEqual(r.json(), {
    error: { code: 'INTERNAL', message: 'internal error', hint: 'see the seed log' },
  });
  assert.doesNotMatch(r.body, /SQLITE|sqlite|at /);
  assert.ok(log.records.some((x) => x.level === 'error' && x['event'] === 'api.error'));
  await app.close();
});

test('malformed JSON and a wrong content type are 400 INVALID_INPUT', async () => {
  const { app, auth } = await testApi();
  const url = '/api/v1/rules/r1';
  const json = await app.inject({
    method: 'PUT',
    url,
    headers: { ...auth, 'content-type': 'application/json' },
    payload: '{"match":',
  });
  assert.equal(json.statusCode, 400);
  assert.equal(json.json().error.code, 'INVALID_INPUT');
  const text = await app.inject({
    method: 'PUT',
    url,
    headers: { ...auth, 'content-type': 'text/csv' },
    payload: 'a,b',
  });
  assert.equal(text.statusCode, 400);
  assert.equal(text.json().error.code, 'INVALID_INPUT');
  await app.close();
});

test('/api/v1/openapi.json is an OpenAPI 3 document listing every route, served without a token', async () => {
  const { app } = await testApi();
  const r = await app.inject({ url: '/api/v1/openapi.json' });
  assert.equal(r.statusCode, 200);
  const doc = JSON.parse(r.body);
  assert.match(doc.openapi, /^3\.\d+\.\d+$/);
  assert.deepEqual(doc.security, [{ bearer: [] }]);
  const listed = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => `${m} ${p}`),
  );
  assert.deepEqual(listed.sort(), ROUTES.map(([m, p]) => `${m} ${p}`).sort());
  const put = doc.paths['/api/v1/rules/{name}'].put;
  assert.equal(put.requestBody.content['application/json'].schema.additionalProperties, false);
  assert.ok(put.responses['4XX'], 'error responses are documented');
  await app.close();
});

test('registerApi works on an app that already has routes and leaves their validation alone', async () => {
  const app = Fastify({ logger: false });
  app.post(
    '/report',
    { schema: { body: { type: 'object', properties: { a: { type: 'integer' } } } } },
    async (req) => req.body,
  );
  registerApi(app, { service: new FakeInventory(), token: tokenCheck('t'), logger: recordingLogger() });
  await app.ready();
  const r = await app.inject({ method: 'POST', url: '/report', payload: { a: '5', b: 1 } });
  assert.deepEqual(r.json(), { a: 5, b: 1 }, "the app's own Ajv still coerces");
  await app.close();
});

test('changes are logged for the audit trail, reads are not', async () => {
  const log = recordingLogger();
  const { app, auth } = await testApi({ logger: log });
  await app.inject({ url: '/api/v1/rules', headers: auth });
  await app.inject({ method: 'DELETE', url: '/api/v1/rules/rack1-workers', headers: auth });
  const changes = log.records.filter((r) => r['event'] === 'api.change');
  assert.deepEqual(
    changes.map((r) => [r['method'], r['url'], r['status']]),
    [['DELETE', '/api/v1/rules/rack1-workers', 204]],
  );
  await app.close();
});
