import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type FakeInventory, testApi } from './testing.ts';

let app: FastifyInstance;
let service: FakeInventory;
let auth: Record<string, string>;
before(async () => {
  ({ app, service, auth } = await testApi());
});
after(() => app.close());

const call = (method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });

test('GET /machines lists every machine', async () => {
  const r = await call('GET', '/machines');
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), service.machines);
});

test('GET /machines/:ref finds by id, MAC (any spelling), UUID, serial and hostname', async () => {
  for (const ref of [
    'm-00000000000b',
    '52:54:00:00:00:02',
    '52-54-00-00-00-02',
    '525400000002',
    '4c4c4544-0000-0000-0000-000000000002',
    'SN-0002',
    'worker-01',
  ]) {
    const r = await call('GET', `/machines/${encodeURIComponent(ref)}`);
    assert.equal(r.statusCode, 200, ref);
    assert.equal(r.json().id, 'm-00000000000b', ref);
  }
});

test('an unknown machine is 404 NOT_FOUND with a hint', async () => {
  const r = await call('GET', '/machines/ghost');
  assert.equal(r.statusCode, 404);
  const { error } = r.json();
  assert.equal(error.code, 'NOT_FOUND');
  assert.match(error.message, /ghost/);
  assert.match(error.hint, /machines list/);
  for (const [m, url] of [
    ['PATCH', '/machines/ghost'],
    ['POST', '/machines/ghost/approve'],
    ['DELETE', '/machines/ghost'],
    ['GET', '/machines/ghost/timeline'],
  ] as const) {
    const x = await call(m, url, m === 'PATCH' ? { role: 'worker' } : undefined);
    assert.equal(x.statusCode, 404, `${m} ${url}`);
  }
});

test('PATCH /machines/:id sets role, hostname, profile and merges labels (null removes)', async () => {
  const r = await call('PATCH', '/machines/m-00000000000b', {
    role: 'controller',
    hostname: 'cp-02',
    profile: 'flatcar',
    labels: { rack: null, zone: 'a' },
  });
  assert.equal(r.statusCode, 200);
  const m = r.json();
  assert.deepEqual(
    [m.role, m.hostname, m.profile, m.labels],
    ['controller', 'cp-02', 'flatcar', { zone: 'a' }],
  );
  const back = await call('PATCH', '/machines/m-00000000000b', { profile: null });
  assert.equal(back.json().profile, undefined, 'null returns the machine to its role profile');
});

test('PATCH rejects empty, unknown and malformed fields with 400 INVALID_INPUT', async () => {
  const cases: [object, RegExp][] = [
    [{}, /fewer than 1/],
    [{ rolee: 'worker' }, /unknown property "rolee"/],
    [{ hostname: 'Not_A_Host' }, /body\/hostname must match pattern/],
    [{ labels: { rack: 5 } }, /body\/labels\/rack/],
    [{ role: '' }, /body\/role/],
  ];
  for (const [payload, message] of cases) {
    const r = await call('PATCH', '/machines/m-00000000000b', payload);
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
    assert.equal(r.json().error.code, 'INVALID_INPUT');
    assert.match(r.json().error.message, message);
  }
});

test('POST /machines/:id/approve returns the approved machine', async () => {
  const r = await call('POST', '/machines/m-00000000000c/approve');
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().state, 'discovered');
});

test('GET /machines/:id/timeline pages with afterSeq and limit, and validates them', async () => {
  const all = await call('GET', '/machines/m-00000000000b/timeline');
  assert.deepEqual(
    all.json().map((e: { seq: number }) => e.seq),
    [1, 2, 3],
  );
  const page = await call('GET', '/machines/m-00000000000b/timeline?afterSeq=1&limit=1');
  assert.deepEqual(page.json(), [service.events[1]]);
  for (const q of ['afterSeq=-1', 'afterSeq=x', 'limit=0', 'limit=1001', 'since=1']) {
    const r = await call('GET', `/machines/m-00000000000b/timeline?${q}`);
    assert.equal(r.statusCode, 400, q);
  }
});

test('DELETE /machines/:id is 204 with no body', async () => {
  const r = await call('DELETE', '/machines/m-00000000000c');
  assert.equal(r.statusCode, 204);
  assert.equal(r.body, '');
  assert.equal((await call('GET', '/machines/m-00000000000c')).statusCode, 404);
});
