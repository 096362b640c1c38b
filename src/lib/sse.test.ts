import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSse, type SseMessage } from './sse.ts';

/** A body delivered in the given chunks, to exercise lines split across reads. */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(enc.encode(x));
      c.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(body(chunks))) out.push(m);
  return out;
}

test('parses id, event and data; skips comments; dispatches on a blank line', async () => {
  const msgs = await all([': hello\n\n', 'id: 7\nevent: dhcp.ack\ndata: {"seq":7}\n\n', ': keep-alive\n\n']);
  assert.deepEqual(msgs, [{ id: '7', event: 'dhcp.ack', data: '{"seq":7}' }]);
});

test('a message split across chunks and CRLF line ends reads the same', async () => {
  const msgs = await all(['id: 1\r\nev', 'ent: x\r\nda', 'ta: a\r', '\ndata:b\r', '\n\r\n']);
  assert.deepEqual(msgs, [{ id: '1', event: 'x', data: 'a\nb' }]);
});

test('an unterminated last message is not dispatched; default event is "message"', async () => {
  assert.deepEqual(await all(['data: 1\n\n', 'data: 2\n']), [{ event: 'message', data: '1' }]);
});
