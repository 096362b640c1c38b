/**
 * bench/lib/wire-latency.ts: the server's own time per DHCP exchange, from a capture on its
 * interface. Built captures pin the pairing rules; a real tcpdump capture of real clients
 * (udhcpc against the seed, in namespaces) pins the file format it reads in a bench run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { wireLatency } from '../../bench/lib/wire-latency.ts';
import { encode, Op } from '../../src/dhcp/index.ts';
import { udhcpc } from '../helpers/dhcp-clients.ts';
import { clientPacket } from '../helpers/dhcp-packets.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';
import { startTcpdump } from '../helpers/tcpdump.ts';

type Kind = 'DISCOVER' | 'OFFER' | 'REQUEST' | 'ACK';

/** An Ethernet + IPv4 + UDP frame around a DHCP message (checksums left 0: not read). */
function frame(type: Kind, xid: number): Buffer {
  const p = clientPacket({ mac: '52:54:00:00:00:01', type, xid });
  const dhcp = Buffer.from(encode(type === 'OFFER' || type === 'ACK' ? { ...p, op: Op.BOOTREPLY } : p));
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + dhcp.length, 2);
  ip[9] = 17;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(type === 'OFFER' || type === 'ACK' ? 67 : 68, 0);
  udp.writeUInt16BE(type === 'OFFER' || type === 'ACK' ? 68 : 67, 2);
  udp.writeUInt16BE(8 + dhcp.length, 4);
  return Buffer.concat([eth, ip, udp, dhcp]);
}

/** A classic pcap file of [seconds, frame] records; nano: nanosecond timestamps. */
function pcap(records: [number, Buffer][], nano = false): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [head];
  for (const [t, f] of records) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(t);
    r.writeUInt32LE(sec, 0);
    r.writeUInt32LE(Math.round((t - sec) * (nano ? 1e9 : 1e6)), 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, f);
  }
  return Buffer.concat(parts);
}

const near = (actual: number[], expected: number[]) => {
  assert.equal(actual.length, expected.length, `${actual} vs ${expected}`);
  for (const [i, a] of actual.entries())
    assert.ok(Math.abs(a - expected[i]!) < 0.002, `${actual} vs ${expected}`);
};

describe('wire latency from a capture', () => {
  it('pairs each reply with its request by xid and type', () => {
    const lat = wireLatency(
      pcap([
        [100.0, frame('DISCOVER', 1)],
        [100.001, frame('DISCOVER', 2)],
        [100.0004, frame('OFFER', 1)],
        [100.0031, frame('OFFER', 2)],
        [100.01, frame('REQUEST', 1)],
        [100.0125, frame('ACK', 1)],
      ]),
    );
    near(lat.offer, [0.4, 2.1]);
    near(lat.ack, [2.5]);
  });

  it('times a retransmitted request from its first copy, and counts only the first answer', () => {
    const lat = wireLatency(
      pcap([
        [5.0, frame('DISCOVER', 7)],
        [5.004, frame('DISCOVER', 7)],
        [5.006, frame('OFFER', 7)],
        [5.0061, frame('OFFER', 7)],
      ]),
    );
    near(lat.offer, [6]);
  });

  it('skips replies to requests before the capture and frames that are not DHCP', () => {
    const arp = Buffer.alloc(60);
    arp.writeUInt16BE(0x0806, 12);
    const lat = wireLatency(
      pcap([
        [1, frame('ACK', 9)],
        [1.001, arp],
        [1.002, frame('REQUEST', 3)],
        [1.0025, frame('OFFER', 3)], // an OFFER does not answer a REQUEST
      ]),
    );
    assert.deepEqual(lat, { offer: [], ack: [] });
  });

  it('reads nanosecond timestamps', () => {
    const lat = wireLatency(
      pcap(
        [
          [2.0, frame('REQUEST', 4)],
          [2.000123456, frame('ACK', 4)],
        ],
        true,
      ),
    );
    near(lat.ack, [0.123456]);
  });

  it('refuses a file that is not a classic pcap, saying how to make one', () => {
    assert.throws(() => wireLatency(Buffer.from('0a0d0d0a00000000', 'hex')), /tcpdump -w/);
  });
});

const NET = '10.57.0';
const skip = labUnavailable(['ip', 'busybox', 'tcpdump']);

describe('wire latency of a real capture (tcpdump, udhcpc, the seed)', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('wire-latency');
    lab = await singleLinkLab(NET, 2);
    seed = await startSeed(lab, dir, seedConfig(NET));
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  it('finds one OFFER and one ACK per client, each answered in under a second', async () => {
    const file = join(dir, 'seed0.pcap');
    const t = await startTcpdump(lab, lab.seedNs, [
      '-i',
      'seed0',
      '-n',
      '-p',
      '-U',
      '--immediate-mode', // without it, what is still buffered when tcpdump stops is lost
      '-w',
      file,
      'udp port 67 or udp port 68',
    ]);
    for (const c of lab.clients) {
      const r = await udhcpc(lab, c, dir);
      assert.equal(r.code, 0, `udhcpc failed:\n${r.result.stderr}`);
    }
    await lab.stop(t.pid);
    // the seed's own account of the same exchanges
    assert.equal(seed.events({ event: 'dhcp.ack' }).length, 2);
    const pcap = readFileSync(file);
    const lat = wireLatency(pcap);
    const why = `tcpdump: ${t.stderr()}, ${pcap.length} bytes`;
    assert.equal(lat.offer.length, 2, `offers: ${lat.offer}; ${why}`);
    assert.equal(lat.ack.length, 2, `acks: ${lat.ack}`);
    for (const ms of [...lat.offer, ...lat.ack]) assert.ok(ms > 0 && ms < 1000, `${ms} ms`);
  });
});
