/**
 * bench/lib/report.ts, the table that judges issue 6's targets, run as the bench runs it (a
 * results TSV in, markdown out): which rows each target covers, its ratio per repetition and
 * the verdict, emulated-RTT rows included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, removeDir, tempDir } from '../helpers/seed.ts';

type Row = [rep: number, server: string, test: string, metric: string, value: number];

const ROWS: Row[] = [
  // TFTP: the same windowed transfer without and with an emulated 2 ms RTT
  [1, 'metalseed', 'tftp-ipxe.efi-b1468-w8', 'time_ms', 8],
  [1, 'atftpd', 'tftp-ipxe.efi-b1468-w8', 'time_ms', 16],
  [1, 'dnsmasq', 'tftp-ipxe.efi-b1468-w8', 'time_ms', 32],
  [1, 'metalseed', 'tftp-ipxe.efi-b1468-w8-rtt2ms', 'time_ms', 220],
  [1, 'atftpd', 'tftp-ipxe.efi-b1468-w8-rtt2ms', 'time_ms', 200],
  [1, 'dnsmasq', 'tftp-ipxe.efi-b1468-w8-rtt2ms', 'time_ms', 1700],
  // lock-step is not a windowsize case: no dnsmasq target for it
  [1, 'metalseed', 'tftp-ipxe.efi-b1468-w1-rtt2ms', 'time_ms', 1700],
  [1, 'dnsmasq', 'tftp-ipxe.efi-b1468-w1-rtt2ms', 'time_ms', 1700],
  [1, 'metalseed', 'tftp-500x-ipxe.efi-b1468-w8-rtt2ms', 'fails', 0],
  [1, 'metalseed', 'tftp-500x-ipxe.efi-b1468-w1', 'fails', 3],
  // DHCP: two repetitions; the ratio is taken per repetition, then the median
  [1, 'metalseed', 'dhcp-relay', 'max_rate', 6000],
  [1, 'kea', 'dhcp-relay', 'max_rate', 8000],
  [2, 'metalseed', 'dhcp-relay', 'max_rate', 9000],
  [2, 'kea', 'dhcp-relay', 'max_rate', 6000],
  [1, 'metalseed-after-reply', 'dhcp-relay', 'max_rate', 12000],
  [1, 'kea', 'dhcp-relay', 'ack_p99_ms', 1],
  [1, 'metalseed', 'dhcp-relay', 'ack_p99_ms', 2],
];

describe('bench/lib/report.ts: the targets table', () => {
  let dir: string;
  let targets: string[];

  before(() => {
    dir = tempDir('report-');
    const tsv = join(dir, 'results.tsv');
    const lines = ['rep\tserver\ttest\tmetric\tvalue\tnote', ...ROWS.map((r) => `${r.join('\t')}\t`)];
    writeFileSync(tsv, `${lines.join('\n')}\n`);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'bench', 'lib', 'report.ts'), tsv],
      {
        encoding: 'utf8',
        cwd: REPO_ROOT,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    targets = out
      .slice(out.indexOf('### Targets'))
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| target'));
  });

  after(() => {
    if (dir) removeDir(dir);
  });

  const line = (what: string, test: string): string => {
    const found = targets.filter((l) => l.startsWith(`| ${what} | ${test} |`));
    assert.equal(found.length, 1, `one line for ${what} / ${test} in:\n${targets.join('\n')}`);
    return found[0]!;
  };

  it('judges a windowed transfer against dnsmasq with and without the emulated RTT', () => {
    assert.match(
      line('TFTP ipxe.efi with windowsize >= 2x dnsmasq', 'tftp-ipxe.efi-b1468-w8'),
      /x0\.25 \(need <= 0\.5\) \| met/,
    );
    assert.match(
      line('TFTP ipxe.efi with windowsize >= 2x dnsmasq', 'tftp-ipxe.efi-b1468-w8-rtt2ms'),
      /x0\.129 \(need <= 0\.5\) \| met/,
    );
    assert.ok(
      !targets.some((l) => l.includes('windowsize >= 2x dnsmasq | tftp-ipxe.efi-b1468-w1')),
      'lock-step is not judged against dnsmasq',
    );
  });

  it('says by how much a target is missed', () => {
    // 220 / 200 = x1.1: 1 / 1.1 of the target reached
    assert.match(
      line('TFTP single transfer as fast as atftpd, equal options', 'tftp-ipxe.efi-b1468-w8-rtt2ms'),
      /x1\.1 \(need <= 1\) \| \*\*missed\*\* \(90\.9% of the target\)/,
    );
    assert.match(
      line('DHCP ACK p99 <= Kea', 'dhcp-relay'),
      /x2 \(need <= 1\) \| \*\*missed\*\* \(50% of the target\)/,
    );
  });

  it('takes the DHCP rate ratio per repetition, then the median, for each of the seed variants', () => {
    // x0.75 and x1.5: median x1.125, printed x1.13 (the ratio of the medians would be x1.07)
    assert.match(
      line('DHCP rate >= 1.5x Kea (persisted)', 'dhcp-relay'),
      /x1\.13 \(need >= 1\.5\) \| \*\*missed\*\* \(75% of the target\)/,
    );
    // after-reply ran in repetition 1 only: 12000 / 8000
    assert.match(
      line('DHCP rate >= 1.5x Kea (persisted) (metalseed-after-reply)', 'dhcp-relay'),
      /x1\.5 \(need >= 1\.5\) \| met/,
    );
  });

  it('counts failed transfers, RTT rows included', () => {
    assert.match(
      line('TFTP transfers without failure', 'tftp-500x-ipxe.efi-b1468-w8-rtt2ms'),
      /0 failed \| met/,
    );
    assert.match(
      line('TFTP transfers without failure', 'tftp-500x-ipxe.efi-b1468-w1'),
      /3 failed \| \*\*missed\*\*/,
    );
  });
});
