/**
 * Boot-file selection by firmware, with udhcpc posing as each kind of PXE client (option 60
 * vendor class, option 93 architecture, option 77 user class), in authoritative mode and in
 * proxy mode (PXE spec 2.1 section 2.2.3: ProxyDHCP offers carry no address, only boot data).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { optIp, optText, probe, udhcpc } from '../helpers/dhcp-clients.ts';
import { MSG } from '../helpers/dhcp-probe.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { hostPart, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.51.0';
const SEED_IP = `${NET}.1`;
const HTTP_PORT = 8080;
const IPXE_URL = `http://${SEED_IP}:${HTTP_PORT}/boot.ipxe`;
const skip = labUnavailable(['ip', 'busybox']);

/** What real firmware sends (lab-findings.md): vendor class and architecture options. */
const CLIENTS = {
  bios: { vendorClass: 'PXEClient:Arch:00000:UNDI:002001', extra: ['0x5d:0000'] },
  uefi: { vendorClass: 'PXEClient:Arch:00007:UNDI:003016', extra: ['0x5d:0007'] },
  // iPXE sends option 77 as the raw bytes "iPXE", without an RFC 3004 length prefix
  ipxe: { vendorClass: 'PXEClient:Arch:00000:UNDI:002001', extra: ['0x5d:0000', '0x4d:69505845'] },
} as const;

describe('DHCP boot file by firmware (authoritative)', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('dhcp-pxe');
    lab = await singleLinkLab(NET, 3);
    seed = await startSeed(lab, dir, seedConfig(NET));
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  const cases = [
    { name: 'BIOS PXE', idx: 0, client: CLIENTS.bios, bootFile: 'undionly.kpxe', firmware: 'bios' },
    { name: 'UEFI x86-64 PXE', idx: 1, client: CLIENTS.uefi, bootFile: 'ipxe.efi', firmware: 'uefi-x64' },
    { name: 'iPXE', idx: 2, client: CLIENTS.ipxe, bootFile: IPXE_URL, firmware: 'ipxe' },
  ];
  for (const k of cases) {
    test(`${k.name} is told ${k.bootFile}`, async () => {
      const c = lab.clients[k.idx]!;
      const r = await udhcpc(lab, c, dir, k.client);
      assert.equal(r.code, 0, `udhcpc failed:\n${r.result.stderr}`);
      assert.ok(r.lease, `no lease: ${r.events.join(',')}`);
      assert.ok(hostPart(r.lease.ip) >= 100 && hostPart(r.lease.ip) <= 199);
      assert.equal(r.lease.bootFile, k.bootFile);
      // next-server (siaddr) is where TFTP clients fetch the boot file from
      if (k.firmware !== 'ipxe') assert.equal(r.lease.siaddr, SEED_IP);
      const offer = await seed.waitFor({ event: 'dhcp.offer', mac: c.mac }, 5000);
      assert.equal(offer.bootFile, k.bootFile, `offer event: ${JSON.stringify(offer)}`);
      assert.equal(offer.firmware, k.firmware, `offer event lacks firmware: ${JSON.stringify(offer)}`);
      const ack = await seed.waitFor({ event: 'dhcp.ack', mac: c.mac }, 5000);
      assert.equal(ack.bootFile, k.bootFile, `ack event: ${JSON.stringify(ack)}`);
      assert.equal(ack.firmware, k.firmware, `ack event lacks firmware: ${JSON.stringify(ack)}`);
    });
  }
});

describe('ProxyDHCP mode', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('dhcp-proxy');
    lab = await singleLinkLab(NET, 3);
    const cfg = seedConfig(NET);
    cfg['dhcp'] = { mode: 'proxy' };
    seed = await startSeed(lab, dir, cfg);
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  test('a plain client (no PXE vendor class) gets no reply at all', async () => {
    const c = lab.clients[0]!;
    const r = await udhcpc(lab, c, dir, { tries: 3 });
    assert.notEqual(r.code, 0, 'udhcpc must give up');
    assert.equal(r.lease, null);
    const replies = await probe(lab, c, { type: 'discover', listenMs: 1500 });
    assert.deepEqual(replies, []);
    const answered = seed.log.filter((e) => e.mac === c.mac && /offer|ack/.test(String(e.event)));
    assert.deepEqual(answered, []);
  });

  const cases = [
    { name: 'BIOS PXE', idx: 1, arch: 0, vendorClass: CLIENTS.bios.vendorClass, bootFile: 'undionly.kpxe' },
    { name: 'UEFI x86-64 PXE', idx: 2, arch: 7, vendorClass: CLIENTS.uefi.vendorClass, bootFile: 'ipxe.efi' },
  ];
  for (const k of cases) {
    test(`${k.name} gets a ProxyDHCP offer with ${k.bootFile} and no address`, async () => {
      const c = lab.clients[k.idx]!;
      const replies = await probe(lab, c, {
        type: 'discover',
        vendorClass: k.vendorClass,
        arch: k.arch,
        listenMs: 2000,
      });
      assert.equal(replies.length, 1, `replies: ${JSON.stringify(replies)}`);
      const r = replies[0]!;
      assert.equal(r.msgType, MSG.offer);
      assert.equal(r.yiaddr, '0.0.0.0');
      assert.equal(r.chaddr, c.mac);
      assert.equal(r.file, k.bootFile);
      assert.equal(r.siaddr, SEED_IP);
      assert.equal(optIp(r, 54), SEED_IP);
      assert.equal(optText(r, 60), 'PXEClient'); // PXE spec 2.1 table 2-1: required in ProxyDHCP
      const ev = await seed.waitFor({ event: 'dhcp.proxy_offer', mac: c.mac }, 5000);
      assert.equal(ev.bootFile, k.bootFile);
    });
  }

  test('iPXE gets a ProxyDHCP offer with the boot.ipxe URL', async () => {
    const c = lab.clients[1]!;
    const replies = await probe(lab, c, {
      type: 'discover',
      vendorClass: CLIENTS.ipxe.vendorClass,
      arch: 0,
      userClass: 'iPXE',
      listenMs: 2000,
    });
    assert.equal(replies.length, 1, `replies: ${JSON.stringify(replies)}`);
    assert.equal(replies[0]!.yiaddr, '0.0.0.0');
    assert.equal(replies[0]!.file, IPXE_URL);
  });
});
