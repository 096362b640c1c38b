import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCapture, prng } from '../../test/helpers/captures.ts';
import { type ClientMsg, clientPacket, IPXE_USER_CLASS } from '../../test/helpers/dhcp-packets.ts';
import { FakeUdp } from '../../test/helpers/fake-udp.ts';
import { silentLogger } from '../lib/log.ts';
import { mustIPv4 as ip, ipToString } from '../lib/net.ts';
import type { OutDatagram } from '../lib/udp.ts';
import { FLAG_BROADCAST, Opt } from './constants.ts';
import { FileJournal } from './journal-file.ts';
import { type LeaseJournal, memoryJournal } from './lease.ts';
import { decode, encode, messageType } from './packet.ts';
import { Pool } from './pool.ts';
import {
  BACKGROUND_SYNC_MS,
  type BootHook,
  type DhcpMode,
  DhcpServer,
  type DhcpServerOptions,
} from './server.ts';

const SEED = ip('10.1.0.1');
const MAC = '52:54:00:aa:00:01';
const bootHook: BootHook = (q) =>
  q.packet.options.has(Opt.USER_CLASS)
    ? { file: 'http://seed/boot.ipxe' }
    : { file: 'undionly.kpxe', siaddr: SEED };

/** A pool of 10.1.0.100-199 without reservations. */
function plainPool(journal: LeaseJournal = memoryJournal()) {
  return new Pool({
    start: ip('10.1.0.100'),
    end: ip('10.1.0.199'),
    reservations: new Map(),
    journal,
    now: Date.now,
  });
}

/** An authoritative server of 10.1.0.0/24 on a fake socket, over `pool`. */
function plainServer(pool: Pool, o: Partial<DhcpServerOptions> & { socket?: FakeUdp } = {}) {
  const socket = o.socket ?? new FakeUdp(67);
  const server = new DhcpServer({
    mode: 'authoritative',
    serverId: SEED,
    pool,
    subnetMask: ip('255.255.255.0'),
    leaseSeconds: 600,
    boot: bootHook,
    logger: silentLogger,
    ...o,
    socket,
  });
  return { server, socket };
}

function setup(mode: DhcpMode = 'authoritative') {
  const socket = new FakeUdp(67);
  const pxeSocket = new FakeUdp(4011);
  const pool = new Pool({
    start: ip('10.1.0.100'),
    end: ip('10.1.0.199'),
    reservations: new Map([['52:54:00:aa:00:ff', ip('10.1.0.50')]]),
    journal: memoryJournal(),
    now: Date.now,
  });
  const server = new DhcpServer({
    mode,
    serverId: SEED,
    socket,
    pxeSocket,
    pool,
    subnetMask: ip('255.255.255.0'),
    router: SEED,
    dns: [SEED],
    leaseSeconds: 600,
    boot: bootHook,
    logger: silentLogger,
  });
  const ask = (m: ClientMsg, via = socket, from = { address: '0.0.0.0', port: 68 }) => {
    via.deliver(encode(clientPacket(m)), from);
    const out = via.take();
    return out.length === 0 ? null : { ...out[0]!, p: decode(out[0]!.bytes) };
  };
  return { server, socket, pxeSocket, pool, ask };
}

describe('DHCP server, authoritative', () => {
  it('DISCOVER → OFFER → REQUEST (SELECTING) → ACK with lease, T1/T2 and network options', () => {
    const { ask } = setup();
    const offer = ask({ mac: MAC, type: 'DISCOVER', flags: FLAG_BROADCAST })!;
    assert.equal(messageType(offer.p), 'OFFER');
    assert.equal(ipToString(offer.p.yiaddr), '10.1.0.100');
    assert.deepEqual(offer.to, { address: '255.255.255.255', port: 68 });
    const ack = ask({ mac: MAC, type: 'REQUEST', serverId: SEED, requested: offer.p.yiaddr })!;
    assert.equal(messageType(ack.p), 'ACK');
    assert.equal(ack.p.yiaddr, offer.p.yiaddr);
    assert.equal(ack.p.options.u32(Opt.LEASE_TIME), 600);
    assert.equal(ack.p.options.u32(Opt.RENEWAL_TIME), 300);
    assert.equal(ack.p.options.u32(Opt.REBINDING_TIME), 525);
    assert.equal(ack.p.options.ip(Opt.SUBNET_MASK), ip('255.255.255.0'));
    assert.deepEqual(ack.p.options.ips(Opt.ROUTER), [SEED]);
    assert.equal(ack.p.options.ip(Opt.SERVER_ID), SEED);
    assert.equal(ack.p.file, 'undionly.kpxe');
    assert.equal(ack.p.siaddr, SEED);
  });

  it('a REQUEST that selects another server withdraws our offer and gets no reply', () => {
    const { ask, pool } = setup();
    const offer = ask({ mac: MAC, type: 'DISCOVER' })!;
    assert.equal(
      ask({ mac: MAC, type: 'REQUEST', serverId: ip('10.1.0.2'), requested: offer.p.yiaddr }),
      null,
    );
    assert.equal(pool.availableTo('52:54:00:aa:00:02', offer.p.yiaddr), true);
  });

  it("INIT-REBOOT: ACK for the client's address, NAK for another network or another client's address", () => {
    const { ask } = setup();
    const mine = ask({ mac: MAC, type: 'DISCOVER' })!.p.yiaddr;
    ask({ mac: MAC, type: 'REQUEST', serverId: SEED, requested: mine });
    assert.equal(messageType(ask({ mac: MAC, type: 'REQUEST', requested: mine })!.p), 'ACK');
    const wrongNet = ask({ mac: MAC, type: 'REQUEST', requested: ip('192.168.9.9') })!;
    assert.equal(messageType(wrongNet.p), 'NAK');
    assert.deepEqual(wrongNet.to, { address: '255.255.255.255', port: 68 });
    assert.equal(messageType(ask({ mac: '52:54:00:aa:00:02', type: 'REQUEST', requested: mine })!.p), 'NAK');
  });

  it("RENEWING is answered by unicast to ciaddr; a renewal of someone else's address is NAKed", () => {
    const { ask } = setup();
    const mine = ask({ mac: MAC, type: 'DISCOVER' })!.p.yiaddr;
    ask({ mac: MAC, type: 'REQUEST', serverId: SEED, requested: mine });
    const renew = ask({ mac: MAC, type: 'REQUEST', ciaddr: mine }, undefined, {
      address: ipToString(mine),
      port: 68,
    })!;
    assert.equal(messageType(renew.p), 'ACK');
    assert.deepEqual(renew.to, { address: ipToString(mine), port: 68 });
    assert.equal(renew.p.ciaddr, mine);
    assert.equal(messageType(ask({ mac: '52:54:00:aa:00:02', type: 'REQUEST', ciaddr: mine })!.p), 'NAK');
  });

  it('answers a relayed request through the relay (giaddr:67) and ignores foreign relay subnets', () => {
    const { ask } = setup();
    const relayed = ask({ mac: MAC, type: 'DISCOVER', giaddr: ip('10.1.0.254') })!;
    assert.deepEqual(relayed.to, { address: '10.1.0.254', port: 67 });
    assert.equal(relayed.p.giaddr, ip('10.1.0.254'));
    assert.equal(ask({ mac: MAC, type: 'DISCOVER', giaddr: ip('172.16.0.1') }), null);
  });

  it('fixed addresses go to their machine', () => {
    const { ask } = setup();
    assert.equal(ipToString(ask({ mac: '52:54:00:aa:00:ff', type: 'DISCOVER' })!.p.yiaddr), '10.1.0.50');
  });

  it('DECLINE quarantines the address; RELEASE frees it; INFORM gets options without a lease', () => {
    const { ask, pool } = setup();
    const a = ask({ mac: MAC, type: 'DISCOVER' })!.p.yiaddr;
    ask({ mac: MAC, type: 'REQUEST', serverId: SEED, requested: a });
    assert.equal(ask({ mac: MAC, type: 'DECLINE', requested: a, serverId: SEED }), null);
    assert.equal(pool.availableTo('52:54:00:aa:00:02', a), false);
    const b = ask({ mac: MAC, type: 'DISCOVER' })!.p.yiaddr;
    assert.notEqual(b, a);
    ask({ mac: MAC, type: 'REQUEST', serverId: SEED, requested: b });
    assert.equal(ask({ mac: MAC, type: 'RELEASE', ciaddr: b, serverId: SEED }), null);
    assert.equal(pool.lease(MAC)?.state, 'released');
    const inform = ask({ mac: MAC, type: 'INFORM', ciaddr: b }, undefined, {
      address: ipToString(b),
      port: 68,
    })!;
    assert.equal(messageType(inform.p), 'ACK');
    assert.equal(inform.p.yiaddr, 0);
    assert.equal(inform.p.options.has(Opt.LEASE_TIME), false);
    assert.deepEqual(inform.to, { address: ipToString(b), port: 68 });
  });

  it('24 concurrent DISCOVERs get 24 distinct addresses', () => {
    const { ask } = setup();
    const got = new Set<number>();
    for (let i = 0; i < 24; i++)
      got.add(ask({ mac: `52:54:00:bb:00:${i.toString(16).padStart(2, '0')}`, type: 'DISCOVER' })!.p.yiaddr);
    assert.equal(got.size, 24);
  });

  it('thousands of malformed packets are dropped and counted; the server keeps serving', () => {
    const { server, socket, ask } = setup();
    const rnd = prng(7);
    const real = loadCapture('ipxe-bios')[0]!.bytes;
    for (let i = 0; i < 3000; i++) {
      const b =
        i % 3 === 0 ? Uint8Array.from({ length: rnd() % 600 }, () => rnd() & 0xff) : Uint8Array.from(real);
      // mutate anything but chaddr (28..43): a valid DISCOVER from a new MAC is not malformed
      if (i % 3 !== 0)
        for (let k = 0; k < 6; k++) b[(44 + (rnd() % (b.length - 44))) % b.length] = rnd() & 0xff;
      if (i % 3 === 1) b[rnd() % 28] = rnd() & 0xff;
      socket.deliver(b, { address: '10.1.0.77', port: 68 });
    }
    socket.take();
    const dropped = Object.values(server.stats.dropped).reduce((a, b) => a + b, 0);
    assert.ok(dropped > 1000, `dropped ${JSON.stringify(server.stats.dropped)}`);
    assert.ok(server.stats.dropped.malformed! > 0);
    assert.equal(messageType(ask({ mac: MAC, type: 'DISCOVER' })!.p), 'OFFER');
  });
});

describe('DHCP server, proxy mode', () => {
  it('ignores plain clients and offers no address to PXE clients, with PXE options', () => {
    const { ask } = setup('proxy');
    assert.equal(ask({ mac: MAC, type: 'DISCOVER' }), null);
    const offer = ask({
      mac: MAC,
      type: 'DISCOVER',
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      arch: 0,
    })!;
    assert.equal(messageType(offer.p), 'OFFER');
    assert.equal(offer.p.yiaddr, 0);
    assert.equal(offer.p.file, 'undionly.kpxe');
    assert.equal(offer.p.options.string(Opt.VENDOR_CLASS), 'PXEClient');
    assert.deepEqual([...offer.p.options.get(Opt.VENDOR_SPECIFIC)!], [6, 1, 8]);
    assert.equal(offer.p.options.has(Opt.LEASE_TIME), false);
  });

  it('answers REQUESTs on port 4011 back to the sender, and not REQUESTs on 67', () => {
    const { ask, pxeSocket } = setup('proxy');
    const m = { mac: MAC, type: 'REQUEST' as const, userClass: IPXE_USER_CLASS, ciaddr: ip('10.9.0.5') };
    assert.equal(ask(m), null);
    const ack = ask(m, pxeSocket, { address: '10.9.0.5', port: 4011 })!;
    assert.equal(messageType(ack.p), 'ACK');
    assert.deepEqual(ack.to, { address: '10.9.0.5', port: 4011 });
    assert.equal(ack.p.file, 'http://seed/boot.ipxe');
  });
});

describe('DHCP server, events', () => {
  it('one event per client message: its answer names the request; a message nothing answered is its own event', () => {
    const pool = plainPool();
    const events: [string, string, string | undefined][] = [];
    const { socket } = plainServer(pool, { onEvent: (e) => events.push([e.event, e.request, e.ip]) });
    const from = { address: '0.0.0.0', port: 68 };
    socket.deliver(encode(clientPacket({ mac: MAC, type: 'DISCOVER', xid: 7 })), from);
    const yiaddr = decode(socket.take()[0]!.bytes).yiaddr;
    const offered = ipToString(yiaddr);
    // the client took another server's offer (RFC 2131 section 4.3.2): no answer, so the REQUEST itself
    const other = ip('10.1.0.2');
    socket.deliver(
      encode(clientPacket({ mac: MAC, type: 'REQUEST', xid: 7, serverId: other, requested: yiaddr })),
      from,
    );
    socket.deliver(encode(clientPacket({ mac: MAC, type: 'DISCOVER', xid: 8 })), from);
    socket.deliver(
      encode(clientPacket({ mac: MAC, type: 'REQUEST', xid: 8, serverId: SEED, requested: yiaddr })),
      from,
    );
    socket.deliver(
      encode(clientPacket({ mac: MAC, type: 'RELEASE', xid: 9, serverId: SEED, ciaddr: yiaddr })),
      from,
    );
    assert.deepEqual(events, [
      ['dhcp.offer', 'DISCOVER', offered],
      ['dhcp.request', 'REQUEST', undefined],
      ['dhcp.offer', 'DISCOVER', offered],
      ['dhcp.ack', 'REQUEST', offered],
      ['dhcp.release', 'RELEASE', undefined],
    ]);
  });
});

describe('DHCP server, group commit', () => {
  it('answers a retransmitted DISCOVER/REQUEST with the same reply, without the boot hook or events again', () => {
    const pool = plainPool();
    let hooks = 0;
    const events: string[] = [];
    const { server, socket } = plainServer(pool, {
      boot: (q) => {
        hooks++;
        return bootHook(q);
      },
      onEvent: (e) => events.push(e.event),
    });
    const from = { address: '0.0.0.0', port: 68 };
    const send = (bytes: Uint8Array) => {
      socket.deliver(bytes, from);
      return socket.take().map((o) => o.bytes);
    };
    const discover = encode(clientPacket({ mac: MAC, type: 'DISCOVER', xid: 7 }));
    const [offer] = send(discover);
    assert.ok(offer);
    const again = Uint8Array.from(discover);
    again[9] = 4; // secs: the client waited 4 s
    assert.deepEqual(send(again), [offer], 'the same OFFER again');
    assert.equal(hooks, 1);
    assert.deepEqual(events, ['dhcp.offer']);
    const yiaddr = decode(offer).yiaddr;
    const request = encode(
      clientPacket({ mac: MAC, type: 'REQUEST', xid: 7, serverId: SEED, requested: yiaddr }),
    );
    const [ack] = send(request);
    assert.equal(messageType(decode(ack!)), 'ACK');
    assert.deepEqual(send(request), [ack], 'the same ACK again');
    assert.equal(hooks, 2);
    assert.deepEqual(events, ['dhcp.offer', 'dhcp.ack']);
    assert.deepEqual(server.stats.repeated, { DISCOVER: 1, REQUEST: 1 });
    // another exchange (new xid), or the same one once the lease is gone, takes the full path
    const renew = encode(
      clientPacket({ mac: MAC, type: 'REQUEST', xid: 8, serverId: SEED, requested: yiaddr }),
    );
    assert.equal(send(renew).length, 1);
    assert.equal(hooks, 3);
    pool.release(MAC, yiaddr);
    assert.equal(messageType(decode(send(renew)[0]!)), 'ACK', 'rebound after the release, not replayed');
    assert.equal(hooks, 4);
  });

  it('holds ACKs until one journal sync makes their leases durable, then sends them all', async () => {
    const rows: string[] = [];
    let syncs = 0;
    const journal = {
      dirty: false,
      load: () => [],
      put(l: { ip: number }) {
        rows.push(ipToString(l.ip));
        this.dirty = true;
      },
      sync() {
        syncs++;
        this.dirty = false;
      },
      close() {},
    };
    const { socket } = plainServer(plainPool(journal));
    for (let i = 0; i < 10; i++) {
      const mac = `52:54:00:cc:00:0${i}`;
      socket.deliver(encode(clientPacket({ mac, type: 'REQUEST', requested: ip(`10.1.0.${110 + i}`) })), {
        address: '0.0.0.0',
        port: 68,
      });
    }
    assert.equal(
      socket.sent.length,
      0,
      `no ACK leaves before its lease is synced: ${socket.sent.map((s) => messageType(decode(s.bytes))).join(',')} rows ${rows.length}`,
    );
    assert.equal(rows.length, 10);
    await new Promise((r) => setImmediate(r));
    assert.equal(syncs, 1, 'one sync for the whole burst');
    assert.equal(socket.take().filter((s) => messageType(decode(s.bytes)) === 'ACK').length, 10);
  });

  /** A journal whose write and background sync a test scripts; put marks it dirty and unwritten. */
  function scriptedJournal(o: { write?: () => void; syncAsync?: (done: (err?: Error) => void) => void }) {
    return {
      dirty: false,
      unwritten: false,
      load: () => [],
      put() {
        this.dirty = this.unwritten = true;
      },
      write() {
        o.write?.();
        this.unwritten = false;
      },
      sync() {},
      ...(o.syncAsync ? { syncAsync: o.syncAsync } : {}),
      close() {},
    };
  }
  /** A client's REQUEST for `requested`, from 0.0.0.0:68. */
  const requestOn = (socket: FakeUdp, requested: string, mac = MAC) =>
    socket.deliver(encode(clientPacket({ mac, type: 'REQUEST', requested: ip(requested) })), {
      address: '0.0.0.0',
      port: 68,
    });

  /** A journal that logs its calls, and a burst of 10 REQUESTs answered on a fake socket. */
  function tracedBurst(leaseSync: 'before-reply' | 'after-reply', batching = false) {
    const log: string[] = [];
    const journal = {
      dirty: false,
      unwritten: false,
      load: () => [],
      put() {
        log.push('put');
        this.dirty = true;
        this.unwritten = true;
      },
      write() {
        log.push('write');
        this.unwritten = false;
      },
      sync() {
        log.push('sync');
        this.dirty = this.unwritten = false;
      },
      syncAsync(done: (err?: Error) => void) {
        log.push('syncAsync');
        this.dirty = this.unwritten = false;
        setTimeout(() => {
          log.push('synced');
          done();
        }, 5);
      },
      close() {},
    };
    const socket = new BatchingUdp(67);
    if (batching) socket.onSendMany = () => log.push('sendMany');
    else socket.sendMany = undefined as never; // a plain socket: one send per reply
    const { server } = plainServer(plainPool(journal), { leaseSync, socket });
    const sendHook = socket.send.bind(socket);
    socket.send = (b, port, address) => {
      if (!batching) log.push(messageType(decode(b))!);
      sendHook(b, port, address);
    };
    for (let i = 0; i < 10; i++) requestOn(socket, `10.1.0.${120 + i}`, `52:54:00:cd:00:0${i}`);
    return { server, socket, log };
  }
  const squeeze = (log: string[]) => log.filter((e, i) => e !== log[i - 1]);

  it('before-reply: the ACKs leave after their sync has finished', async (t) => {
    const { server, log } = tracedBurst('before-reply');
    t.after(() => server.close());
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(squeeze(log), ['put', 'syncAsync', 'synced', 'ACK']);
    assert.deepEqual(server.stats.journal, { sync: 1 });
    server.close();
  });

  it('after-reply: the ACKs leave once their leases are written; one sync follows', async (t) => {
    const { server, log } = tracedBurst('after-reply');
    t.after(() => server.close());
    assert.deepEqual(squeeze(log), ['put'], 'nothing leaves before the write');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(squeeze(log), ['put', 'write', 'ACK'], 'written and sent, not synced yet');
    assert.equal(log.filter((e) => e === 'ACK').length, 10);
    await new Promise((r) => setTimeout(r, BACKGROUND_SYNC_MS + 30));
    assert.deepEqual(squeeze(log), ['put', 'write', 'ACK', 'syncAsync', 'synced']);
    server.close();
  });

  it('after-reply with the file journal: each ACK finds its lease in the file, synced soon after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-after-reply-'));
    try {
      const file = join(dir, 'leases.jsonl');
      const journal = new FileJournal(file, silentLogger);
      const { server, socket } = plainServer(plainPool(journal), { leaseSync: 'after-reply' });
      const inFile: boolean[] = [];
      const sendHook = socket.send.bind(socket);
      socket.send = (b, port, address) => {
        const p = decode(b);
        // what a crash of the process at this instant would leave behind
        inFile.push(readFileSync(file, 'utf8').includes(`"ip":"${ipToString(p.yiaddr)}"`));
        sendHook(b, port, address);
      };
      for (let i = 0; i < 5; i++) requestOn(socket, `10.1.0.${140 + i}`, `52:54:00:ce:00:0${i}`);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(inFile, [true, true, true, true, true]);
      assert.equal(journal.dirty, true, 'written, not yet synced');
      const until = Date.now() + 2000;
      while (journal.dirty && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      assert.equal(journal.dirty, false, 'synced in the background');
      server.close();
      journal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after-reply on a batching socket: one write, then the whole batch in one sendMany, synced after', async (t) => {
    const { server, socket, log } = tracedBurst('after-reply', true);
    t.after(() => server.close());
    assert.deepEqual(squeeze(log), ['put'], 'nothing leaves before the write');
    await Promise.resolve(); // the batch's microtask, not a later loop turn
    assert.deepEqual(squeeze(log), ['put', 'write', 'sendMany']);
    assert.equal(socket.batches.length, 1);
    assert.equal(socket.batches[0]!.filter((m) => messageType(decode(m.bytes)) === 'ACK').length, 10);
    await new Promise((r) => setTimeout(r, BACKGROUND_SYNC_MS + 30));
    assert.deepEqual(squeeze(log), ['put', 'write', 'sendMany', 'syncAsync', 'synced']);
    assert.deepEqual(server.stats.journal, { write: 1, sync: 1 });
  });

  it('after-reply: a failing background sync is retried after a second, and never after close', async (t) => {
    let syncs = 0;
    const journal = scriptedJournal({
      syncAsync(done) {
        syncs++;
        setTimeout(() => done(new Error('EIO: i/o error')), 300); // a slow, failing disk
      },
    });
    const { server, socket } = plainServer(plainPool(journal), { leaseSync: 'after-reply' });
    t.after(() => server.close());
    requestOn(socket, '10.1.0.160');
    const at = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await at(150); // the first sync runs from 10 ms to 310 ms
    assert.equal(syncs, 1);
    assert.equal(socket.sent.length, 1, 'the ACK left after the write, not after the sync');
    await at(1250); // failed at 310 ms, retried a second later (not every 10 ms): in flight now
    assert.equal(syncs, 2);
    server.close();
    await at(1400); // that attempt failed at ~1.6 s; nothing follows a close
    assert.equal(syncs, 2);
    assert.equal(server.stats.journal.sync_failed, 2);
  });

  it('after-reply: a failed journal write drops the replies that waited for it', async (t) => {
    const log: string[] = [];
    const journal = scriptedJournal({
      write() {
        log.push('write');
        throw new Error('ENOSPC: no space left on device');
      },
    });
    for (const batching of [false, true]) {
      const socket = batching ? new BatchingUdp(67) : new FakeUdp(67);
      const { server } = plainServer(plainPool(journal), { leaseSync: 'after-reply', socket });
      t.after(() => server.close());
      requestOn(socket, '10.1.0.150');
      await new Promise((r) => setImmediate(r));
      assert.equal(socket.sent.length, 0, `no ACK without its lease on file (batching ${batching})`);
      assert.deepEqual(server.stats.journal, { write_failed: 1 });
      server.close();
    }
    assert.deepEqual(log, ['write', 'write']);
  });
});

/** A fake socket that also sends many datagrams per call, as the native batch reader's does. */
class BatchingUdp extends FakeUdp {
  readonly batches: OutDatagram[][] = [];
  onSendMany: (() => void) | undefined;
  sendMany(msgs: readonly OutDatagram[]): void {
    this.onSendMany?.();
    this.batches.push([...msgs]);
    for (const m of msgs) this.send(m.bytes, m.port, m.address);
  }
}
