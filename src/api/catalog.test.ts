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

const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v1${url}`, headers: auth, ...(payload ? { payload } : {}) });

test('GET /rules and /profiles list them', async () => {
  assert.deepEqual((await call('GET', '/rules')).json(), service.rules);
  assert.deepEqual((await call('GET', '/profiles')).json(), service.profiles);
});

test('PUT /rules/:name stores the rule under the path name, MACs canonical', async () => {
  const r = await call('PUT', '/rules/lab', {
    match: { mac: ['52-54-00-AA-00-01'], arch: ['EFI_BC'] },
    set: { role: 'worker' },
    priority: 5,
  });
  assert.equal(r.statusCode, 200);
  const want = {
    name: 'lab',
    match: { mac: ['52:54:00:aa:00:01'], arch: ['EFI_BC'] },
    set: { role: 'worker' },
    priority: 5,
  };
  assert.deepEqual(r.json(), want);
  assert.deepEqual(service.rules.at(-1), want);
});

test('PUT /rules rejects bad rules with 400: unknown selector, bad MAC, name mismatch, bad name', async () => {
  const cases: [string, object, RegExp][] = [
    ['/rules/x', { match: { labelz: {} }, set: {} }, /body\/match: unknown property "labelz"/],
    ['/rules/x', { match: { mac: ['not-a-mac'] }, set: {} }, /body\/match\/mac\/0 must match pattern/],
    ['/rules/x', { match: {} }, /set/],
    ['/rules/x', { name: 'y', match: {}, set: {} }, /"y" in the body differs from "x"/],
    ['/rules/Bad%20Name', { match: {}, set: {} }, /params\/name/],
  ];
  for (const [url, payload, message] of cases) {
    const r = await call('PUT', url, payload);
    assert.equal(r.statusCode, 400, url + JSON.stringify(payload));
    assert.equal(r.json().error.code, 'INVALID_INPUT');
    assert.match(r.json().error.message, message);
  }
});

test('an ambiguous rule set is 409 RULE_AMBIGUOUS naming the rules', async () => {
  const r = await call('PUT', '/rules/also-rack1', {
    match: { labels: { rack: 'r1' } },
    set: { role: 'controller' },
  });
  assert.equal(r.statusCode, 409);
  assert.equal(r.json().error.code, 'RULE_AMBIGUOUS');
  assert.match(r.json().error.message, /rack1-workers/);
});

test('DELETE /rules/:name is 204, then 404', async () => {
  assert.equal((await call('DELETE', '/rules/rack1-workers')).statusCode, 204);
  const again = await call('DELETE', '/rules/rack1-workers');
  assert.equal(again.statusCode, 404);
  assert.equal(again.json().error.code, 'NOT_FOUND');
});

test('PUT /profiles/:name fills the defaults and keeps given fields', async () => {
  const r = await call('PUT', '/profiles/tiny', { kernel: '/assets/k' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), {
    name: 'tiny',
    kernel: '/assets/k',
    initrds: [],
    args: [],
    efiBinary: 'ipxe',
    config: { kind: 'ignition-role' },
  });
  const t = await call('PUT', '/profiles/tpl', {
    kernel: '/k',
    efiBinary: 'snponly',
    config: { kind: 'template', format: 'plain', template: 'hello {{ hostname }}' },
  });
  assert.equal(t.json().config.template, 'hello {{ hostname }}');
});

test('PUT /profiles rejects a missing kernel, an unknown EFI binary and a bad config kind', async () => {
  for (const payload of [
    {},
    { kernel: '/k', efiBinary: 'grub' },
    { kernel: '/k', config: { kind: 'butane' } },
  ]) {
    const r = await call('PUT', '/profiles/p', payload);
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
  }
});

test('DELETE /profiles/:name is 204, then 404', async () => {
  assert.equal((await call('DELETE', '/profiles/flatcar')).statusCode, 204);
  assert.equal((await call('DELETE', '/profiles/flatcar')).statusCode, 404);
});

test('GET /preview passes canonical MAC, uuid and arch through; needs a valid mac', async () => {
  const r = await call('GET', '/preview?mac=52-54-00-00-00-02&arch=EFI_BC');
  assert.equal(r.statusCode, 200);
  const p = r.json();
  assert.equal(p.machine.id, 'm-00000000000b');
  assert.equal(p.rule, 'rack1-workers');
  assert.match(p.ipxe, /mac 52:54:00:00:00:02 arch EFI_BC/);
  assert.equal(p.config.contentType, 'application/json');
  const unknown = await call('GET', '/preview?mac=52:54:00:99:99:99');
  assert.equal(unknown.json().machine, null);
  for (const q of ['', '?mac=zz', '?mac=52:54:00:00:00:02&color=red']) {
    assert.equal((await call('GET', `/preview${q}`)).statusCode, 400, q);
  }
});
