/**
 * One behavioural suite that every `Store` must pass (the hono `router/common.case.test.ts`
 * pattern): the in-memory fake used by unit tests and the SQLite store that ships must not
 * drift apart, and a future networked store starts from the same contract.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import type { Store } from './store.ts';
import type { Machine, NewTimelineEvent, ProfileSpec, Rule } from './types.ts';

export interface OpenedStore {
  store: Store;
  /** Closes `store` first, then opens the same data again (persistent stores only). */
  reopen?: () => Promise<Store>;
  cleanup(): Promise<void>;
}

export const mac = (n: number) =>
  `52:54:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;

/** Machine n: first seen n seconds into 2025, so "oldest first" is machine order. */
export function machine(n: number, over: Partial<Machine> = {}): Machine {
  const t = new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  return {
    id: `m-${n.toString(16).padStart(12, '0')}`,
    hostname: `node-${n}`,
    role: 'worker',
    labels: {},
    macs: [mac(n)],
    addresses: [],
    state: 'discovered',
    hostnameSource: 'generated',
    firstSeen: t,
    lastSeen: t,
    version: 0,
    ...over,
  };
}

const event = (machineId: string, type = 'dhcp.discover'): NewTimelineEvent => ({
  machineId,
  time: '2025-01-01T00:00:00.000Z',
  type,
  data: { note: type },
});
const rule = (name: string, priority = 0): Rule => ({
  name,
  match: { arch: ['x86_64'] },
  set: { role: 'cp' },
  priority,
});
const profile = (name: string, kernel = 'vmlinuz'): ProfileSpec => ({
  name,
  kernel,
  initrds: ['initrd.img'],
  args: ['console=ttyS0'],
  efiBinary: 'ipxe',
  config: { kind: 'ignition-role' },
});

export function storeConformance(name: string, open: () => Promise<OpenedStore>): void {
  /** Each case gets fresh, empty data so cases stay independent and order-free. */
  const withStore =
    (fn: (s: Store, o: OpenedStore, t: TestContext) => Promise<void>) => async (t: TestContext) => {
      const o = await open();
      try {
        await fn(o.store, o, t);
      } finally {
        await o.cleanup();
      }
    };
  const put = async (s: Store, m: Machine) => {
    const r = await s.putMachine(m, null);
    assert.ok(r, `create ${m.id}`);
    return r;
  };

  describe(`Store conformance: ${name}`, () => {
    it(
      'puts, gets and lists machines, oldest first',
      withStore(async (s) => {
        assert.equal(await s.getMachine('m-nope'), undefined);
        const full = machine(2, {
          uuid: 'u-2',
          serial: 'S2',
          profile: 'p',
          labels: { rack: 'a' },
          pinned: ['role'],
          arch: 'x86_64',
        });
        await put(s, full);
        await put(s, machine(1));
        assert.deepEqual(await s.getMachine(full.id), { ...full, version: 1 });
        assert.deepEqual(
          (await s.listMachines()).map((m) => m.id),
          [machine(1).id, full.id],
        );
      }),
    );

    it(
      'putMachine is a compare-and-set on version',
      withStore(async (s) => {
        const m = machine(1, { version: 7 }); // the caller's version is ignored: the store counts
        const v1 = await put(s, m);
        assert.equal(v1.version, 1);
        assert.equal(await s.putMachine(m, null), null, 'null expected: create only');
        assert.equal(await s.putMachine(machine(9), 1), null, 'missing machine with an expected version');
        const v2 = await s.putMachine({ ...v1, role: 'cp' }, 1);
        assert.deepEqual(v2, { ...v1, role: 'cp', version: 2 });
        assert.equal(await s.putMachine({ ...v1, role: 'stale' }, 1), null, 'stale version');
        assert.equal((await s.getMachine(m.id))?.role, 'cp');
      }),
    );

    it(
      'an identifier belongs to one machine: a second claimant conflicts',
      withStore(async (s) => {
        const a = await put(s, machine(1, { macs: [mac(1), mac(11)], uuid: 'u-1', serial: 'S1' }));
        assert.equal(await s.putMachine(machine(2, { macs: [mac(2), mac(11)] }), null), null, 'mac');
        assert.equal(await s.putMachine(machine(3, { macs: [mac(3)], uuid: 'u-1' }), null), null, 'uuid');
        assert.equal(await s.putMachine(machine(4, { macs: [mac(4)], serial: 'S1' }), null), null, 'serial');
        assert.equal((await s.listMachines()).length, 1, 'conflicts write nothing');
        // Giving an identifier up frees it for another machine.
        await s.putMachine({ ...a, macs: [mac(1)], uuid: 'u-x' }, a.version);
        await put(s, machine(2, { macs: [mac(2), mac(11)], uuid: 'u-1' }));
        // A repeated MAC within one machine is not a conflict with itself.
        await put(s, machine(5, { macs: [mac(5), mac(5)] }));
      }),
    );

    it(
      'findMachines by any MAC, uuid or serial; several when they span machines',
      withStore(async (s) => {
        const a = await put(s, machine(1, { macs: [mac(1), mac(11)], uuid: 'u-1' }));
        const b = await put(s, machine(2, { serial: 'S2' }));
        await put(s, machine(3));
        const ids = async (k: Parameters<Store['findMachines']>[0]) =>
          (await s.findMachines(k)).map((m) => m.id);
        assert.deepEqual(await s.findMachines({ macs: [mac(11)] }), [a]);
        assert.deepEqual(await ids({ uuid: 'u-1' }), [a.id]);
        assert.deepEqual(await ids({ serial: 'S2' }), [b.id]);
        assert.deepEqual(await ids({ serial: 'S2', macs: [mac(99), mac(1), mac(11)] }), [a.id, b.id]);
        assert.deepEqual(await ids({ macs: [mac(2)], uuid: 'u-1' }), [a.id, b.id], 'oldest first');
        assert.deepEqual(await ids({ macs: [mac(99)], uuid: 'u-9', serial: 'S9' }), []);
        assert.deepEqual(await ids({}), []);
      }),
    );

    it(
      'deleteMachine removes the machine, its identifiers and its events',
      withStore(async (s) => {
        const a = await put(s, machine(1, { uuid: 'u-1' }));
        await put(s, machine(2));
        await s.appendEvent(event(a.id), 10);
        const kept = await s.appendEvent(event(machine(2).id), 10);
        assert.equal(await s.deleteMachine(a.id), true);
        assert.equal(await s.deleteMachine(a.id), false);
        assert.equal(await s.getMachine(a.id), undefined);
        assert.deepEqual(await s.findMachines({ macs: [mac(1)], uuid: 'u-1' }), []);
        assert.deepEqual(await s.listEvents(a.id), []);
        assert.deepEqual(await s.eventsSince(0, 10), [kept]);
        await put(s, machine(3, { macs: [mac(1)], uuid: 'u-1' })); // identifiers are free again
      }),
    );

    it(
      'appendEvent numbers events across machines and keeps the newest N per machine',
      withStore(async (s) => {
        const [a, b] = [machine(1).id, machine(2).id];
        const e = { ...event(a), mac: mac(1), durationMs: 12 };
        const first = await s.appendEvent(e, 3);
        assert.deepEqual(first, { ...e, seq: first.seq });
        const seqs = [first.seq];
        for (let i = 0; i < 5; i++) seqs.push((await s.appendEvent(event(i % 2 ? a : b, `t${i}`), 3)).seq);
        assert.ok(
          seqs.every((q, i) => i === 0 || q > (seqs[i - 1] ?? 0)),
          `increasing: ${seqs}`,
        );
        assert.deepEqual(
          (await s.listEvents(a)).map((x) => x.type),
          ['dhcp.discover', 't1', 't3'],
        );
        await s.appendEvent(event(a, 't9'), 3);
        assert.deepEqual(
          (await s.listEvents(a)).map((x) => x.type),
          ['t1', 't3', 't9'],
        );
        assert.deepEqual(
          (await s.listEvents(b)).map((x) => x.type),
          ['t0', 't2', 't4'],
          'b untouched',
        );
        await assert.rejects(s.appendEvent(event(a), 0), (err) => err instanceof MetalseedError);
      }),
    );

    it(
      'events appended before their machine is stored count towards its retention',
      withStore(async (s) => {
        const m = machine(1);
        for (const t of ['t0', 't1', 't2']) await s.appendEvent(event(m.id, t), 3);
        await put(s, m); // the DHCP path: the first steps land before the machine's write
        await s.appendEvent(event(m.id, 't3'), 3);
        assert.deepEqual(
          (await s.listEvents(m.id)).map((x) => x.type),
          ['t1', 't2', 't3'],
        );
      }),
    );

    it(
      'listEvents: afterSeq and limit give the newest N, oldest first',
      withStore(async (s) => {
        const a = machine(1).id;
        const seqs: number[] = [];
        for (let i = 0; i < 6; i++) seqs.push((await s.appendEvent(event(a, `t${i}`), 100)).seq);
        await s.appendEvent(event(machine(2).id), 100);
        const types = async (q: Parameters<Store['listEvents']>[1]) =>
          (await s.listEvents(a, q)).map((e) => e.type);
        assert.deepEqual(await types({ limit: 2 }), ['t4', 't5']);
        assert.deepEqual(await types({ afterSeq: seqs[3]! }), ['t4', 't5']);
        assert.deepEqual(await types({ afterSeq: seqs[0]!, limit: 3 }), ['t3', 't4', 't5']);
        assert.deepEqual(await types({ afterSeq: seqs[5]! }), []);
        assert.deepEqual(await types({ limit: 0 }), []);
        assert.deepEqual(await s.listEvents('m-nope'), []);
      }),
    );

    it(
      'eventsSince: all machines in seq order, the first `limit` after afterSeq',
      withStore(async (s) => {
        const all = [];
        for (let i = 0; i < 6; i++) all.push(await s.appendEvent(event(machine(i % 3).id, `t${i}`), 100));
        assert.deepEqual(await s.eventsSince(0, 100), all);
        assert.deepEqual(await s.eventsSince(all[1]!.seq, 2), all.slice(2, 4));
        assert.deepEqual(await s.eventsSince(all[5]!.seq, 10), []);
      }),
    );

    it(
      'rules and profiles: upsert by name, listed by name, deleted',
      withStore(async (s) => {
        await s.putRule(rule('b'));
        await s.putRule(rule('a'));
        await s.putRule(rule('b', 5));
        assert.deepEqual(await s.listRules(), [rule('a'), rule('b', 5)]);
        assert.equal(await s.deleteRule('a'), true);
        assert.equal(await s.deleteRule('a'), false);
        assert.deepEqual(await s.listRules(), [rule('b', 5)]);
        await s.putProfile(profile('worker'));
        await s.putProfile(profile('cp'));
        await s.putProfile(profile('worker', 'vmlinuz-2'));
        assert.deepEqual(await s.listProfiles(), [profile('cp'), profile('worker', 'vmlinuz-2')]);
        assert.equal(await s.deleteProfile('cp'), true);
        assert.equal(await s.deleteProfile('cp'), false);
        assert.deepEqual(
          (await s.listProfiles()).map((p) => p.name),
          ['worker'],
        );
      }),
    );

    it(
      'meta values are set and read back',
      withStore(async (s) => {
        assert.equal(await s.getMeta('token'), undefined);
        await s.setMeta('token', 'h1');
        await s.setMeta('token', 'h2');
        assert.equal(await s.getMeta('token'), 'h2');
      }),
    );

    it(
      'returns copies: mutating inputs or results does not change the store',
      withStore(async (s) => {
        const m = machine(1, { labels: { a: '1' } });
        const stored = await put(s, m);
        m.labels['a'] = 'x';
        m.macs.push(mac(50));
        stored.labels['a'] = 'y';
        (await s.getMachine(m.id))!.macs.push(mac(51));
        (await s.listMachines())[0]!.labels['b'] = 'z';
        (await s.findMachines({ macs: [mac(1)] }))[0]!.macs.length = 0;
        assert.deepEqual(await s.getMachine(m.id), machine(1, { labels: { a: '1' }, version: 1 }));
        const r = rule('r');
        await s.putRule(r);
        r.match.arch?.push('arm64');
        (await s.listRules())[0]!.set.role = 'x';
        assert.deepEqual(await s.listRules(), [rule('r')]);
        const e = await s.appendEvent(event(m.id), 10);
        e.data['note'] = 'x';
        (await s.listEvents(m.id))[0]!.data['note'] = 'y';
        assert.deepEqual((await s.eventsSince(0, 10))[0]?.data, { note: 'dhcp.discover' });
      }),
    );

    it(
      'concurrent compare-and-set: of 20 writers from one version exactly one wins',
      withStore(async (s) => {
        const m = await put(s, machine(1));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s.putMachine({ ...m, hostname: `w${i}` }, m.version)),
        );
        const won = results.filter((r) => r !== null);
        assert.equal(won.length, 1);
        assert.deepEqual(await s.getMachine(m.id), won[0]);
        assert.equal(won[0]?.version, 2);
      }),
    );

    it(
      'is durable across close and reopen, and seq keeps increasing',
      withStore(async (s, o, t) => {
        if (!o.reopen) return t.skip('not persistent: no reopen');
        const a = await put(s, machine(1, { uuid: 'u-1' }));
        await put(s, machine(2));
        const e = await s.appendEvent(event(a.id), 10);
        const last = await s.appendEvent(event(machine(2).id), 10); // highest seq, then deleted below
        await s.putRule(rule('r'));
        await s.putProfile(profile('p'));
        await s.setMeta('k', 'v');
        await s.deleteMachine(machine(2).id);
        const r = await o.reopen();
        assert.deepEqual(await r.listMachines(), [a]);
        assert.deepEqual(await r.findMachines({ uuid: 'u-1' }), [a]);
        assert.deepEqual(await r.listEvents(a.id), [e]);
        assert.deepEqual(await r.listRules(), [rule('r')]);
        assert.deepEqual(await r.listProfiles(), [profile('p')]);
        assert.equal(await r.getMeta('k'), 'v');
        // A live-stream client holding `last.seq` must never miss a later event: no seq reuse.
        const next = await r.appendEvent(event(a.id), 10);
        assert.ok(next.seq > last.seq, `seq ${next.seq} after reopen must exceed ${last.seq}`);
        assert.equal((await r.putMachine(a, a.version))?.version, 2);
      }),
    );
  });
}
