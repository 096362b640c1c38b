import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { machine, storeConformance } from './store.conformance.ts';
import { DB_FILE, openSqliteStore } from './store-sqlite.ts';
import { WorkerStore } from './store-worker.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-wstore-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

storeConformance('WorkerStore', async () => {
  const dir = tempDir();
  let current = await WorkerStore.open(dir);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await WorkerStore.open(dir);
      return current;
    },
    cleanup: () => current.close(),
  };
});

describe('WorkerStore', () => {
  it('fails to open as the SQLite store does: a MetalseedError with its code and message', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, DB_FILE), 'not a database, just text long enough to be read'.repeat(100));
    let inThread: unknown;
    try {
      openSqliteStore(dir);
    } catch (err) {
      inThread = err;
    }
    assert.ok(inThread instanceof MetalseedError, 'the SQLite store refuses the file');
    await assert.rejects(WorkerStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof MetalseedError, `a MetalseedError, got ${String(err)}`);
      assert.equal(err.code, (inThread as MetalseedError).code);
      assert.equal(err.message, (inThread as MetalseedError).message);
      return true;
    });
  });

  it('answers one turn of calls in call order, writes before the read that follows them', async () => {
    const store = await WorkerStore.open(tempDir());
    try {
      const puts = Array.from({ length: 200 }, (_, i) => store.putMachine(machine(i + 1), null));
      const events = Array.from({ length: 200 }, (_, i) =>
        store.appendEvent({ machineId: machine(i + 1).id, time: 't', type: 'dhcp.offer', data: { i } }, 10),
      );
      const listed = store.listMachines(); // issued after the writes, in the same turn
      const stored = await Promise.all(puts);
      assert.deepEqual(
        stored.map((m) => m?.version),
        stored.map(() => 1),
      );
      const seqs = (await Promise.all(events)).map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        'sequence numbers follow call order',
      );
      assert.equal((await listed).length, 200);
    } finally {
      await store.close();
    }
  });

  it('a process that opened the store and never closed it still ends', () => {
    // The worker is referenced only while a call waits for it.
    const url = (f: string) => JSON.stringify(new URL(f, import.meta.url).href);
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { WorkerStore } = await import(${url('store-worker.ts')});
         const s = await WorkerStore.open(${JSON.stringify(tempDir())});
         await s.setMeta('k', 'v');
         console.log(await s.getMeta('k'));`,
      ],
      { timeout: 20_000, encoding: 'utf8' },
    );
    assert.equal(out.trim(), 'v');
  });

  it('after its worker ends, pending and later calls fail with a clear error', async () => {
    const store = await WorkerStore.open(tempDir());
    const worker = (store as unknown as { worker: import('node:worker_threads').Worker }).worker;
    const pending = store.listMachines();
    await worker.terminate();
    for (const p of [pending, store.getMeta('x')]) {
      await assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof MetalseedError);
        assert.equal(err.code, 'INTERNAL');
        assert.match(err.message, /store's worker thread ended/);
        return true;
      });
    }
    await store.close(); // nothing left to close: returns
  });
});
