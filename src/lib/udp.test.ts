import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetalseedError } from './errors.ts';
import { openUdp } from './udp.ts';

describe('openUdp', () => {
  it('names the address on a bind failure and keeps the errno error as its cause', async () => {
    const first = await openUdp({ port: 0, address: '127.0.0.1' });
    try {
      await assert.rejects(openUdp({ port: first.port, address: '127.0.0.1' }), (err: unknown) => {
        assert.ok(err instanceof MetalseedError);
        assert.equal(err.code, 'INTERFACE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${first.port}`));
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      });
    } finally {
      first.close();
    }
  });
});
