/**
 * The seed's authoritative DHCP server against real clients (busybox udhcpc, ISC dhclient) and
 * the raw probe, each in a network namespace of its own on one bridge with the seed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dhclient, probe, udhcpc, udhcpcRelease } from '../helpers/dhcp-clients.ts';
import { MSG } from '../helpers/dhcp-probe.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { hostPart, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.50.0';
const SEED_IP = `${NET}.1`;
const RESERVED_IP = `${NET}.10`;
const skip = labUnavailable(['ip', 'busybox', 'dhclient']);

describe('DHCP (authoritative) with real clients', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('dhcp');
    lab = await singleLinkLab(NET, 5);
    const cfg = seedConfig(NET);
    cfg['machines'] = [{ mac: lab.clients[2]!.mac, ip: RESERVED_IP, hostname: 'cp-01', role: 'controller' }];
    seed = await startSeed(lab, dir, cfg);
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  test('udhcpc gets a lease inside the pool', async () => {
    const c = lab.clients[0]!;
    const r = await udhcpc(lab, c, dir);
    assert.equal(r.code, 0, `udhcpc failed:\n${r.result.stderr}`);
    const l = r.lease!;
    assert.ok(l, `no lease: ${r.events.join(',')}`);
    assert.ok(hostPart(l.ip) >= 100 && hostPart(l.ip) <= 199, `${l.ip} outside the pool`);
    assert.ok(l.ip.startsWith(`${NET}.`));
    assert.equal(l.serverId, SEED_IP);
    assert.equal(l.router, SEED_IP);
    assert.equal(l.mask, '24');
    assert.equal(l.lease, '3600');
    // the whole exchange is in the seed's log, with the client's MAC
    const ack = await seed.waitFor({ event: 'dhcp.ack', mac: c.mac }, 5000);
    assert.equal(ack.ip, l.ip);
    // one event per message: the DISCOVER's is its OFFER
    const offer = seed.events({ event: 'dhcp.offer', mac: c.mac })[0];
    assert.equal(offer?.ip, l.ip, `no dhcp.offer event for ${c.mac}`);
    assert.equal(offer?.request, 'DISCOVER');
    assert.equal(ack.request, 'REQUEST');
  });

  test('dhclient gets a lease, then the same one again by INIT-REBOOT', async () => {
    const c = lab.clients[1]!;
    const first = await dhclient(lab, c, dir);
    assert.equal(first.code, 0, `dhclient failed:\n${first.result.stderr}`);
    assert.ok(first.lease, `no lease: ${first.events.join(',')}\n${first.result.stderr}`);
    const ip = first.lease.ip;
    assert.ok(hostPart(ip) >= 100 && hostPart(ip) <= 199, `${ip} outside the pool`);
    assert.equal(first.lease.serverId, SEED_IP);
    assert.equal(first.lease.mask, '255.255.255.0');

    // With the lease file of the first run dhclient starts in INIT-REBOOT (RFC 2131 4.3.2).
    const again = await dhclient(lab, c, dir, { leaseFile: first.leaseFile });
    assert.equal(again.code, 0, `dhclient (reboot) failed:\n${again.result.stderr}`);
    assert.deepEqual(again.events.slice(-1), ['REBOOT'], `events: ${again.events.join(',')}`);
    assert.equal(again.lease?.ip, ip);
  });

  test('a reserved machine gets its fixed address', async () => {
    const c = lab.clients[2]!;
    const r = await udhcpc(lab, c, dir);
    assert.equal(r.code, 0, `udhcpc failed:\n${r.result.stderr}`);
    assert.equal(r.lease?.ip, RESERVED_IP);
    const ack = await seed.waitFor({ event: 'dhcp.ack', mac: c.mac }, 5000);
    assert.equal(ack.ip, RESERVED_IP);
  });

  test('an INIT-REBOOT for an address on another network is NAKed', async () => {
    // RFC 2131 4.3.2: "If the requested address is ... on the wrong network", the server
    // MUST send a DHCPNAK.
    const c = lab.clients[3]!;
    const replies = await probe(lab, c, { type: 'request', requestedIp: '10.99.0.5', listenMs: 1500 });
    assert.deepEqual(
      replies.map((r) => r.msgType),
      [MSG.nak],
      `replies: ${JSON.stringify(replies)}`,
    );
    await seed.waitFor({ event: 'dhcp.nak', mac: c.mac }, 5000);
  });

  test('udhcpc -R releases its lease when stopped', async () => {
    const c = lab.clients[4]!;
    const r = await udhcpcRelease(lab, c, dir);
    assert.ok(r.lease, `no lease: ${r.events.join(',')}\n${r.result.stderr}`);
    assert.match(r.result.stderr, /unicasting a release/);
    const ev = await seed.waitFor({ event: 'dhcp.release', mac: c.mac }, 5000);
    assert.equal(ev.mac, c.mac);
  });
});
