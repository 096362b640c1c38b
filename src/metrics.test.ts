import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testProvisioner } from '../test/helpers/provisioner.ts';
import { createMetrics } from './metrics.ts';

describe('metrics', () => {
  it("exports the store's WAL checkpoints by outcome, read at scrape time", async () => {
    const { p } = await testProvisioner();
    const checkpoints = { ok: 0, failed: 0 };
    const { registry } = createMetrics({ provisioner: p, checkpoints });
    checkpoints.ok = 12;
    checkpoints.failed = 1;
    const text = await registry.metrics();
    assert.match(text, /^metalseed_store_checkpoints_total\{outcome="ok"\} 12$/m);
    assert.match(text, /^metalseed_store_checkpoints_total\{outcome="failed"\} 1$/m);
  });
});
