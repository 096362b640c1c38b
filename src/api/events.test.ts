/** The SSE stream over a real socket: fetch reads it as the CLI and dashboard will. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TimelineEvent } from '../inventory/index.ts';
import { formatEvent } from './events.ts';
import { TEST_TOKEN, testApi } from './testing.ts';

const event = (seq: number, machineId = 'm-00000000000b'): TimelineEvent => ({
  machineId,
  seq,
  time: '2024-05-01T10:00:01.000Z',
  type: 'dhcp.ack',
  mac: '52:54:00:00:00:02',
  data: { ip: '192.168.0.12' },
});

/** Reads the stream until `done` says the text so far is enough. */
async function readUntil(body: ReadableStream<Uint8Array>, done: (text: string) => boolean): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond());
}

test('formatEvent writes id, event and one data line', () => {
  const e = { ...event(7), data: { note: 'two\nlines' } };
  const s = formatEvent(e);
  assert.equal(s, `id: 7\nevent: dhcp.ack\ndata: ${JSON.stringify(e)}\n\n`);
  assert.equal(s.split('\n').length, 5, 'a newline in the data stays escaped');
});

test('GET /events streams every event, with keep-alives, until the client goes', async () => {
  const { app, service } = await testApi({ keepAliveMs: 20 });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  await until(() => service.listenerCount === 1);
  service.emit(event(10));
  service.emit({ ...event(11), type: 'tftp.done', data: { file: 'undionly.kpxe', bytes: 70000 } });
  const text = await readUntil(res.body!, (t) => t.includes('id: 11') && t.includes(': keep-alive'));
  assert.ok(text.includes(formatEvent(event(10))));
  assert.match(text, /id: 11\nevent: tftp\.done\ndata: \{.*"bytes":70000/);
  await until(() => service.listenerCount === 0);
  await app.close();
});

test('GET /events?machine=ID streams only that machine', async () => {
  const { app, service } = await testApi();
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/api/v1/events?machine=m-00000000000a`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  await until(() => service.listenerCount === 1);
  service.emit(event(20, 'm-00000000000b'));
  service.emit(event(21, 'm-00000000000a'));
  const text = await readUntil(res.body!, (t) => t.includes('id: 21'));
  assert.doesNotMatch(text, /id: 20/);
  await app.close();
});

test('app.close() ends open streams instead of waiting for clients', async () => {
  const { app, service } = await testApi();
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  await until(() => service.listenerCount === 1);
  const started = Date.now();
  await app.close();
  assert.ok(Date.now() - started < 1000);
  const text = await readUntil(res.body!, () => false);
  assert.match(text, /^: metalseed events/);
  assert.equal(service.listenerCount, 0);
});

test('GET /events without a token is 401 and subscribes nothing', async () => {
  const { app, service } = await testApi();
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/api/v1/events`);
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
  assert.equal(service.listenerCount, 0);
  await app.close();
});
