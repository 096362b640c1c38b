/**
 * Hostile input on the wire: thousands of malformed and truncated DHCP packets, broadcast and
 * unicast from a client namespace, then a real udhcpc still gets a lease and /metrics shows
 * the drops counted by reason.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { udhcpc } from '../helpers/dhcp-clients.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.55.0';
const skip = labUnavailable(['ip', 'busybox', 'curl']);

/** Sent from inside the client namespace: random bytes, truncated real headers, bad cookies. */
const SENDER = `
import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
await new Promise((r) => s.bind(68, r));
s.setBroadcast(true);
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
const send = (b, to) => new Promise((r) => s.send(b, 67, to, r));
for (let i = 0; i < 3000; i++) {
  const len = [0, 1, 27, 235, 239, 240, 241, 300, 576, 1400][i % 10];
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = rnd() & 255;
  if (len >= 240 && i % 3 === 0) { b[0] = 1; b[1] = 1; b[2] = 6; b.writeUInt32BE(0x63825363, 236); } // plausible header, garbage options
  await send(b, i % 2 ? '255.255.255.255' : '${NET}.1');
  if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5)); // stay under socket buffer limits
}
s.close();
console.log('sent 3000');
`;

describe('DHCP under garbage on the wire', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('dhcp-garbage');
    lab = await singleLinkLab(NET, 2);
    seed = await startSeed(lab, dir, seedConfig(NET));
  });
  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  test('3000 malformed packets are dropped and counted; a real client still gets a lease', async () => {
    const attacker = lab.clients[0]!;
    const up = await lab.exec(attacker.ns, 'ip', ['addr', 'add', `${NET}.50/24`, 'dev', attacker.ifname]);
    assert.equal(up.code, 0, up.stderr);
    const script = join(dir, 'garbage.mjs');
    writeFileSync(script, SENDER);
    const sent = await lab.exec(attacker.ns, process.execPath, [script], { timeoutMs: 60_000 });
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /sent 3000/);

    const r = await udhcpc(lab, lab.clients[1]!, dir);
    assert.equal(r.code, 0, `udhcpc after the garbage: ${r.result.stderr}`);
    assert.ok(r.lease, 'the seed still hands out leases');

    const metrics = await lab.exec(lab.seedNs, 'curl', ['-s', `http://${NET}.1:8080/metrics`]);
    const dropped = [
      ...metrics.stdout.matchAll(/^metalseed_dhcp_dropped_total\{reason="([a-z_]+)"\} (\d+)$/gm),
    ];
    const total = dropped.reduce((n, m) => n + Number(m[2]), 0);
    assert.ok(total > 1000, `drops counted by reason: ${dropped.map((m) => `${m[1]}=${m[2]}`).join(' ')}`);
    assert.ok(
      dropped.some((m) => m[1] === 'malformed'),
      'malformed packets have their own reason',
    );
    assert.equal(seed.events('dhcp.drop').length > 0, true, 'each drop is logged at debug with its reason');
  });
});
