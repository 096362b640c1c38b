/**
 * Many clients at once, then a crash: 24 udhcpc in 24 namespaces ask at the same moment and
 * must get 24 distinct addresses; after `kill -9` and a restart over the same dataDir every
 * client gets its own address back, whether it asks by INIT-REBOOT (RFC 2131 4.3.2), by a
 * DISCOVER naming it (option 50) or by a plain DISCOVER, and no address is handed out twice.
 * Both `dhcp.leaseSync` modes: a crash of the process loses no lease in either (after-reply's
 * ACK waits for the journal write, which the kernel keeps when the process dies). The
 * after-reply seed runs its store on its own thread (METALSEED_STORE_THREAD=1, the default on
 * hosts with 4+ CPUs) and the before-reply one on the event loop, so both meet a crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { probe, udhcpc } from '../helpers/dhcp-clients.ts';
import { MSG } from '../helpers/dhcp-probe.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { hostPart, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.52.0';
const CLIENTS = 24;
const skip = labUnavailable(['ip', 'busybox']);

function assertDistinct(ips: string[], what: string): void {
  const seen = new Map<string, number>();
  ips.forEach((ip, i) => {
    assert.ok(!seen.has(ip), `${what}: ${ip} given to clients ${seen.get(ip)} and ${i}`);
    seen.set(ip, i);
  });
}

for (const leaseSync of ['before-reply', 'after-reply'] as const)
  describe(`${CLIENTS} concurrent clients and a seed crash, leaseSync ${leaseSync}`, {
    skip,
    timeout: 240_000,
  }, () => {
    let lab: Lab;
    let seed: Seed;
    let dir: string;
    /** Address of client i before the crash. */
    const before_: string[] = [];

    const storeThread = process.env.METALSEED_STORE_THREAD;
    before(async () => {
      // each mode with one store placement, whatever this host's CPUs (the seeds inherit it)
      process.env.METALSEED_STORE_THREAD = leaseSync === 'after-reply' ? '1' : '0';
      dir = tempDir('dhcp-restart');
      lab = await singleLinkLab(NET, CLIENTS);
      seed = await startSeed(lab, dir, seedConfig(NET, { leaseSync }));
      const ready = seed.events({ event: 'seed.ready' })[0] as { store?: string } | undefined;
      assert.equal(ready?.store, leaseSync === 'after-reply' ? 'own thread' : 'event loop');
    });

    after(async () => {
      await lab?.cleanup();
      if (dir) removeDir(dir);
      if (storeThread === undefined) delete process.env.METALSEED_STORE_THREAD;
      else process.env.METALSEED_STORE_THREAD = storeThread;
    });

    test(`${CLIENTS} clients asking at once get ${CLIENTS} distinct addresses`, async () => {
      const runs = await Promise.all(lab.clients.map((c) => udhcpc(lab, c, dir, { tries: 10 })));
      runs.forEach((r, i) => {
        assert.equal(r.code, 0, `client ${i} failed:\n${r.result.stderr}`);
        assert.ok(r.lease, `client ${i}: no lease (${r.events.join(',')})`);
        assert.ok(
          hostPart(r.lease.ip) >= 100 && hostPart(r.lease.ip) <= 199,
          `${r.lease.ip} outside the pool`,
        );
        before_.push(r.lease.ip);
      });
      assertDistinct(before_, 'before the crash');
      // the seed's own account agrees: one ACKed address per MAC
      for (const [i, c] of lab.clients.entries()) {
        const acks = seed.events({ event: 'dhcp.ack', mac: c.mac });
        assert.ok(acks.length > 0, `no dhcp.ack for ${c.mac}`);
        assert.equal(acks.at(-1)!.ip, before_[i]);
      }
    });

    test('after kill -9 and a restart, each client gets its own address back', async () => {
      assert.equal(before_.length, CLIENTS, 'needs the previous test');
      // No grace period: a lease that was ACKed must already be on disk.
      await seed.kill('SIGKILL');
      seed = await startSeed(lab, dir, seed.config);

      // INIT-REBOOT: DHCPREQUEST with option 50, no server identifier, ciaddr 0.
      const reboots = await Promise.all(
        lab.clients.map((c, i) =>
          probe(lab, c, { type: 'request', requestedIp: before_[i]!, listenMs: 2500 }),
        ),
      );
      reboots.forEach((replies, i) => {
        const types = replies.map((r) => r.msgType);
        assert.deepEqual(
          types,
          [MSG.ack],
          `client ${i} INIT-REBOOT ${before_[i]}: ${JSON.stringify(replies)}`,
        );
        assert.equal(replies[0]!.yiaddr, before_[i]);
      });

      // busybox udhcpc -r: a DISCOVER carrying option 50, then the usual REQUEST.
      const asked = await Promise.all(
        lab.clients.map((c, i) => udhcpc(lab, c, dir, { requestIp: before_[i]!, tries: 10 })),
      );
      const askedIps = asked.map((r, i) => {
        assert.ok(r.lease, `client ${i} (-r ${before_[i]}): no lease (${r.events.join(',')})`);
        return r.lease.ip;
      });
      assert.deepEqual(askedIps, before_);

      // A plain DISCOVER, no hint: the server must remember the binding itself.
      const plain = await Promise.all(lab.clients.map((c) => udhcpc(lab, c, dir, { tries: 10 })));
      const plainIps = plain.map((r, i) => {
        assert.ok(r.lease, `client ${i} (plain): no lease (${r.events.join(',')})`);
        return r.lease.ip;
      });
      assert.deepEqual(plainIps, before_);
      assertDistinct(plainIps, 'after the restart');
    });
  });
