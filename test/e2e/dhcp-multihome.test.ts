/**
 * A seed with two links: provisioning `seed0` (configured) and `uplink0`, which carries the
 * default route. DHCP must answer only on seed0 and its replies must leave through seed0; a
 * server on a wildcard socket would answer the uplink too, and a limited broadcast sent without
 * SO_BINDTODEVICE follows the default route out of the wrong interface.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { probe, udhcpc } from '../helpers/dhcp-clients.ts';
import { type Lab, labUnavailable, type Tracked, twoLinkLab } from '../helpers/netns.ts';
import { hostPart, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';
import { startTcpdump } from '../helpers/tcpdump.ts';

const PROV = '10.61.0';
const UPLINK = '10.62.0';
const skip = labUnavailable(['ip', 'busybox', 'tcpdump']);

/** tcpdump on a bridge of the switch namespace, printing each DHCP frame with its MACs. */
const capture = (lab: Lab, bridge: string): Promise<Tracked> =>
  startTcpdump(lab, lab.switchNs, ['-i', bridge, '-n', '-l', '-e', 'udp port 67 or udp port 68']);

describe('DHCP on a multi-homed seed', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('dhcp-multihome');
    lab = await twoLinkLab(PROV, UPLINK);
    seed = await startSeed(lab, dir, seedConfig(PROV));
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  test('the client on the provisioning link gets a lease, and nothing leaks to the uplink', async () => {
    const c = lab.clientsOn(0)[0]!;
    const uplinkWire = await capture(lab, 'br1');
    // posing as BIOS PXE, so the reply carries next-server and a boot file: both must name
    // seed0's address (the default `advertise`), not the uplink's
    const r = await udhcpc(lab, c, dir, {
      vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
      extra: ['0x5d:0000'],
    });
    await lab.stop(uplinkWire.pid);
    assert.equal(r.code, 0, `udhcpc failed:\n${r.result.stderr}`);
    assert.ok(r.lease, `no lease: ${r.events.join(',')}`);
    assert.ok(
      r.lease.ip.startsWith(`${PROV}.`) && hostPart(r.lease.ip) >= 100 && hostPart(r.lease.ip) <= 199,
    );
    assert.equal(r.lease.serverId, `${PROV}.1`);
    assert.equal(r.lease.siaddr, `${PROV}.1`);
    assert.equal(r.lease.bootFile, 'undionly.kpxe');
    const leaked = uplinkWire
      .stdout()
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.deepEqual(leaked, [], 'DHCP packets on the uplink bridge');
  });

  test('the client on the uplink gets no lease and no reply', async () => {
    const c = lab.clientsOn(1)[0]!;
    const uplinkWire = await capture(lab, 'br1');
    const r = await udhcpc(lab, c, dir, { tries: 3 });
    await lab.stop(uplinkWire.pid);
    const wire = uplinkWire.stdout();
    // the capture works (so the "nothing leaks" check above means something) ...
    assert.match(wire, new RegExp(`${c.mac}.*0\\.0\\.0\\.0\\.68 > 255\\.255\\.255\\.255\\.67`));
    // ... and nothing came back from port 67
    assert.doesNotMatch(wire, /\.67 > /);
    assert.notEqual(r.code, 0, `udhcpc must give up, got ${JSON.stringify(r.lease)}`);
    assert.equal(r.lease, null);
    const replies = await probe(lab, c, { type: 'discover', listenMs: 1500 });
    assert.deepEqual(replies, []);
    // Bound to seed0 (SO_BINDTODEVICE) the server should not even see these packets; at the
    // least it must not answer them.
    const answered = seed.log.filter((e) => e.mac === c.mac && /offer|ack|nak/.test(String(e.event)));
    assert.deepEqual(answered, []);
  });
});
