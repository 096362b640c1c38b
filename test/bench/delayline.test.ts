/**
 * bench/tools/delayline.c, the user-space delay bench/tftp.sh emulates a round-trip time with
 * where the kernel has no sch_netem. A lab with two links whose only path between them is the
 * delay line, run in the namespace that holds both (the lab's seed namespace): real UDP
 * datagrams between two client namespaces, so real checksums, ARP and queueing; and a real
 * windowed TFTP transfer from metalseed, whose native pump sends each window as one
 * UDP_SEGMENT frame (the line's first version dropped those, and the bench then counted a
 * failure of the seed's).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, labUnavailable, type Tracked, twoLinkLab } from '../helpers/netns.ts';
import { REPO_ROOT, removeDir, startSeed, tempDir } from '../helpers/seed.ts';

const DELAY_US = 1000; // each way: RTT 2 ms
const ECHO_PORT = 7777;
const A = '10.93.9.1';
const B = '10.93.9.2';

/** A UDP echo server on B. */
const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(${ECHO_PORT}, '${B}', () => console.log('ready'));
`;

/**
 * From A: `pings` datagrams one at a time (each after the last one's echo, or after 1 s without
 * it), then `burst` datagrams of 1,400 bytes at once. Prints the round-trip times of the pings
 * that came back and how many of the burst came back within 2 s.
 */
const PROBE = `
const [pings, burst] = process.argv.slice(1).map(Number);
const s = require('node:dgram').createSocket('udp4');
const rtts = []; let sentAt = 0n; let phase = 'ping'; let n = 0; let back = 0; let timer;
const next = () => {
  if (n++ === pings) return startBurst();
  sentAt = process.hrtime.bigint();
  s.send(Buffer.alloc(64, 1), ${ECHO_PORT}, '${B}');
  timer = setTimeout(next, 1000);
};
const startBurst = () => {
  phase = 'burst';
  for (let i = 0; i < burst; i++) s.send(Buffer.alloc(1400, i & 255), ${ECHO_PORT}, '${B}');
  setTimeout(() => { console.log(JSON.stringify({ rtts, burstBack: back })); process.exit(0); }, 2000);
};
s.on('message', (m) => {
  if (phase === 'burst') { if (m.length === 1400) back++; return; }
  clearTimeout(timer);
  rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
  setTimeout(next, 5);
});
s.bind(0, '${A}', next);
`;

/** The line's counts per direction, from what it prints when stopped. */
interface Counts {
  forwarded: number;
  offloaded: number;
  dropped: number;
  failed: number;
}
function countsOf(report: string): Map<string, Counts> {
  const out = new Map<string, Counts>();
  const re =
    /from (\w+): (\d+) forwarded \((\d+) with segmentation offload\), (\d+) dropped \(queue full\), (\d+) send errors/g;
  for (const [, from, forwarded, offloaded, dropped, failed] of report.matchAll(re))
    out.set(from!, {
      forwarded: Number(forwarded),
      offloaded: Number(offloaded),
      dropped: Number(dropped),
      failed: Number(failed),
    });
  return out;
}

/** Waits for `what` up to `ms`, without throwing (src/tftp/testing.ts waitFor does): the
 * assertion after it says what was missing, with the process's output. */
async function until(what: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !what() && waited < ms; waited += 100) await new Promise((r) => setTimeout(r, 100));
}

const skip = labUnavailable(['ip', 'gcc']);

describe('delayline: a fixed delay each way between two interfaces', { skip }, () => {
  let lab: Lab;
  let dir: string;
  const built = (name: string) => join(dir, name);

  before(async () => {
    dir = tempDir('delayline-');
    for (const name of ['delayline', 'tftpload']) {
      const src = join(REPO_ROOT, 'bench', 'tools', `${name}.c`);
      const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', built(name), src], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
    }
    lab = await twoLinkLab('10.93.0', '10.93.1');
    // one subnet across the two links: only the delay line joins them
    for (const [c, ip] of [
      [lab.clientsOn(0)[0]!, A],
      [lab.clientsOn(1)[0]!, B],
    ] as const) {
      const r = await lab.exec(c.ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', c.ifname]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  /** The line between the two links, started and announced. */
  const startLine = async (): Promise<Tracked> => {
    const line = lab.spawn(lab.seedNs, built('delayline'), ['seed0', 'uplink0', String(DELAY_US)]);
    await until(() => line.stderr().includes('each way'), 5000);
    assert.match(line.stderr(), /seed0 <-> uplink0, 1000 us each way/);
    return line;
  };

  const probe = async (pings: number, burst: number) => {
    const a = lab.clientsOn(0)[0]!;
    const r = await lab.exec(a.ns, process.execPath, ['-e', PROBE, String(pings), String(burst)], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { rtts: number[]; burstBack: number };
  };

  it('forwards every frame both ways, each DELAY_US later, and reports its counts on SIGTERM', async () => {
    const echo = lab.spawn(lab.clientsOn(1)[0]!.ns, process.execPath, ['-e', ECHO]);
    await until(() => echo.stdout().includes('ready'), 5000);
    assert.match(echo.stdout(), /ready/, echo.stderr());

    // without the line the two links are not joined
    assert.deepEqual((await probe(2, 0)).rtts, []);

    const line = await startLine();
    const pings = 30;
    // a TFTP window of 64 blocks; more would overflow the sockets' default receive buffers
    const burst = 64;
    const r = await probe(pings, burst);
    await lab.stop(line.pid);
    await lab.stop(echo.pid);
    assert.equal(r.rtts.length, pings, `pings answered: ${r.rtts.length} of ${pings}`);
    const sorted = [...r.rtts].sort((x, y) => x - y);
    // never sooner than the delay both ways; the median well under a lost-and-retried ping
    assert.ok(sorted[0]! >= (2 * DELAY_US) / 1000, `fastest round trip ${sorted[0]} ms`);
    assert.ok(sorted[pings >> 1]! < 2 + 20, `median round trip ${sorted[pings >> 1]} ms`);
    // 1,400-byte datagrams in one burst: queued in order, checksums finished on the way out
    assert.equal(r.burstBack, burst);

    const report = line.stderr();
    const counts = countsOf(report);
    assert.deepEqual([...counts.keys()].sort(), ['seed0', 'uplink0'], report);
    for (const c of counts.values()) {
      // each way: the pings and the burst at least (and the ARP exchange)
      assert.ok(c.forwarded >= pings + burst, report);
      assert.equal(c.dropped, 0, report);
      assert.equal(c.failed, 0, report);
    }
  });

  it("carries metalseed's TFTP windows, each sent with segmentation offload, whole", async () => {
    const root = join(dir, 'tftproot');
    mkdirSync(root);
    const file = join(root, 'ipxe.efi');
    writeFileSync(file, randomBytes(1 << 20));
    // TFTP only, beside B's address, in B's namespace: windows from the native pump
    const seed = await startSeed(
      lab,
      dir,
      {
        advertise: B,
        http: { port: 18099, address: '127.0.0.1' },
        dhcp: { mode: 'off' },
        tftp: { enabled: true, root, port: 3069, blksizeMax: 1468, windowsizeMax: 64 },
        ra: { enabled: false },
      },
      { ns: lab.clientsOn(1)[0]!.ns },
    );

    const line = await startLine();
    const args = ['-s', B, '-p', '3069', '-f', 'ipxe.efi', '-l', file, '-b', '1468', '-w', '64'];
    const t = await lab.exec(lab.clientsOn(0)[0]!.ns, built('tftpload'), args, { timeoutMs: 30_000 });
    await lab.stop(line.pid);
    await seed.kill();
    // tftpload compares every byte with the file
    assert.match(t.stdout, /ok=1 fail=0 .*blksize=1468 windowsize=64/, `${t.stdout}${t.stderr}`);
    // 715 blocks in windows of 64: at least 12 round trips of 2 ms
    const ms = Number(/p50_ms=([\d.]+)/.exec(t.stdout)?.[1]);
    assert.ok(ms >= 12 * 2, `transfer took ${ms} ms`);
    const report = line.stderr();
    const fromSeed = countsOf(report).get('uplink0');
    assert.ok(fromSeed, report);
    assert.ok(fromSeed.offloaded >= 10, `windows sent as one frame each: ${report}`);
    assert.equal(fromSeed.dropped, 0, report);
    assert.equal(fromSeed.failed, 0, report);
  });

  it('refuses a bad delay with the reason', () => {
    const r = spawnSync(built('delayline'), ['a', 'b', '-5'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /DELAY_US must be 0\.\.10000000 microseconds, not -5/);
  });
});
