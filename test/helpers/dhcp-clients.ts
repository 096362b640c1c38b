/**
 * Real DHCP clients run inside a lab's client namespaces: busybox udhcpc, ISC dhclient and the
 * raw probe (dhcp-probe.ts). Their hook scripts print what the server handed out and, except
 * for `udhcpcRelease`, never configure the interface, so a test can ask again unchanged.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeReply, ProbeSpec } from './dhcp-probe.ts';
import type { Client, ExecResult, Lab } from './netns.ts';
import { REPO_ROOT } from './seed.ts';

/** What a client script saw on `bound`: udhcpc's and dhclient's variables, normalised. */
export interface Lease {
  ip: string;
  mask?: string;
  siaddr?: string;
  bootFile?: string;
  serverId?: string;
  router?: string;
  lease?: string;
}

export interface ClientRun {
  code: number | null;
  /** The last `bound` (udhcpc) or BOUND/REBOOT/RENEW (dhclient) lease, if any. */
  lease: Lease | null;
  /** Hook events in order: `deconfig`, `bound`, `leasefail`, `nak`; dhclient's `reason`s. */
  events: string[];
  result: ExecResult;
}

const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc hook for tests: print, never configure (busybox udhcpc(8) environment names)
printf '@udhcpc\\tevent=%s\\tip=%s\\tmask=%s\\tsiaddr=%s\\tboot_file=%s\\tserverid=%s\\trouter=%s\\tlease=%s\\n' \\
  "$1" "$ip" "$mask" "$siaddr" "$boot_file" "$serverid" "$router" "$lease"
exit 0
`;

/** Like UDHCPC_SCRIPT, but configures the address: a DHCPRELEASE is unicast from it. */
const UDHCPC_CONFIGURE_SCRIPT = UDHCPC_SCRIPT.replace(
  'exit 0\n',
  `case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
`,
);

/** Writes the udhcpc hook into `dir` once; returns its path. */
export function udhcpcScript(dir: string, configure = false): string {
  const p = join(dir, configure ? 'udhcpc-configure.sh' : 'udhcpc-print.sh');
  if (!existsSync(p)) {
    writeFileSync(p, configure ? UDHCPC_CONFIGURE_SCRIPT : UDHCPC_SCRIPT);
    chmodSync(p, 0o755);
  }
  return p;
}

function parseTabbed(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of line.split('\t').slice(1)) {
    const i = f.indexOf('=');
    if (i > 0) out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

function leaseFrom(v: Record<string, string>, keys: Record<keyof Lease, string>): Lease | null {
  const ip = v[keys.ip];
  if (!ip) return null;
  const l: Lease = { ip };
  for (const k of ['mask', 'siaddr', 'bootFile', 'serverId', 'router', 'lease'] as const) {
    const val = v[keys[k]];
    if (val) l[k] = val;
  }
  return l;
}

export interface UdhcpcOptions {
  /** -V: vendor class identifier (option 60). */
  vendorClass?: string;
  /** -x OPT:VAL options, e.g. `0x5d:0007`. */
  extra?: readonly string[];
  /** -r: ask for this address (option 50 in the DISCOVER). */
  requestIp?: string;
  /** -t: discover packets before giving up (default 5), -T seconds between (default 1). */
  tries?: number;
  pause?: number;
  timeoutMs?: number;
}

/** `busybox udhcpc -f -q -n`: get one lease (or give up after `tries`) and exit. */
export async function udhcpc(
  lab: Lab,
  c: Client,
  scriptDir: string,
  o: UdhcpcOptions = {},
): Promise<ClientRun> {
  const args = [
    'udhcpc',
    '-i',
    c.ifname,
    '-f',
    '-q',
    '-n',
    '-t',
    String(o.tries ?? 5),
    '-T',
    String(o.pause ?? 1),
  ];
  args.push('-s', udhcpcScript(scriptDir));
  if (o.vendorClass) args.push('-V', o.vendorClass);
  for (const x of o.extra ?? []) args.push('-x', x);
  if (o.requestIp) args.push('-r', o.requestIp);
  const result = await lab.exec(c.ns, 'busybox', args, { timeoutMs: o.timeoutMs ?? 30_000 });
  return { code: result.code, ...parseUdhcpc(result.stdout), result };
}

function parseUdhcpc(stdout: string): { lease: Lease | null; events: string[] } {
  const events: string[] = [];
  let lease: Lease | null = null;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('@udhcpc\t')) continue;
    const v = parseTabbed(line);
    events.push(v['event'] ?? '?');
    if (v['event'] === 'bound' || v['event'] === 'renew') {
      lease = leaseFrom(v, {
        ip: 'ip',
        mask: 'mask',
        siaddr: 'siaddr',
        bootFile: 'boot_file',
        serverId: 'serverid',
        router: 'router',
        lease: 'lease',
      });
    }
  }
  return { lease, events };
}

/**
 * A lease that is then given back: udhcpc (-R, no -q) binds, configures the address (the
 * DHCPRELEASE is unicast from it, RFC 2131 section 4.4.6) and releases when sent SIGTERM.
 * (`-q -R` does not release: busybox quits before it counts as bound.)
 */
export async function udhcpcRelease(
  lab: Lab,
  c: Client,
  scriptDir: string,
  timeoutMs = 15_000,
): Promise<ClientRun> {
  const args = [
    'udhcpc',
    '-i',
    c.ifname,
    '-f',
    '-n',
    '-R',
    '-t',
    '5',
    '-T',
    '1',
    '-s',
    udhcpcScript(scriptDir, true),
  ];
  const t = lab.spawn(c.ns, 'busybox', args);
  t.child.stdin?.end();
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !t.stdout().includes('event=bound') && t.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await lab.stop(t.pid);
  const code = await t.exited;
  await Promise.race([t.closed, new Promise((r) => setTimeout(r, 500))]);
  const result: ExecResult = {
    code,
    signal: t.child.signalCode,
    stdout: t.stdout(),
    stderr: t.stderr(),
    timedOut: false,
  };
  return { code, ...parseUdhcpc(result.stdout), result };
}

/**
 * ISC dhclient, once (-1), without -d: the parent exits 0 when bound (the forked daemon is
 * then stopped through its pid file) or 2 when no lease came within the config's timeout.
 * A lease file from an earlier run makes it start with an INIT-REBOOT DHCPREQUEST.
 */
export async function dhclient(
  lab: Lab,
  c: Client,
  dir: string,
  o: { timeoutSec?: number; leaseFile?: string } = {},
): Promise<ClientRun & { leaseFile: string }> {
  const tag = c.ns.replace(/[^a-z0-9-]/gi, '_');
  const out = join(dir, `dhclient-${tag}.out`);
  const script = join(dir, `dhclient-${tag}.sh`);
  const conf = join(dir, `dhclient-${tag}.conf`);
  const pidFile = join(dir, `dhclient-${tag}.pid`);
  const leaseFile = o.leaseFile ?? join(dir, `dhclient-${tag}.leases`);
  writeFileSync(
    script,
    `#!/bin/sh\nprintf '@dhclient\\treason=%s\\tip=%s\\tmask=%s\\tbootfile=%s\\tserverid=%s\\trouter=%s\\tlease=%s\\n' ` +
      `"$reason" "$new_ip_address" "$new_subnet_mask" "$new_filename" "$new_dhcp_server_identifier" ` +
      `"$new_routers" "$new_dhcp_lease_time" >> '${out}'\nexit 0\n`,
  );
  chmodSync(script, 0o755);
  // dhclient.conf(5): a short timeout so a missing server fails the test fast.
  writeFileSync(
    conf,
    `timeout ${o.timeoutSec ?? 10};\ninitial-interval 1;\nbackoff-cutoff 2;\n` +
      'request subnet-mask, broadcast-address, routers, domain-name-servers, host-name;\n',
  );
  writeFileSync(out, '');
  const args = ['-1', '-v', '-4', '-cf', conf, '-sf', script, '-lf', leaseFile, '-pf', pidFile, c.ifname];
  const result = await lab.exec(c.ns, 'dhclient', args, { timeoutMs: ((o.timeoutSec ?? 10) + 10) * 1000 });
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (pid > 0) {
      lab.adopt(pid);
      await lab.stop(pid);
    }
  }
  const events: string[] = [];
  let lease: Lease | null = null;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (!line.startsWith('@dhclient\t')) continue;
    const v = parseTabbed(line);
    const reason = v['reason'] ?? '?';
    events.push(reason);
    if (reason === 'BOUND' || reason === 'REBOOT' || reason === 'RENEW' || reason === 'REBIND') {
      lease = leaseFrom(v, {
        ip: 'ip',
        mask: 'mask',
        siaddr: 'siaddr',
        bootFile: 'bootfile',
        serverId: 'serverid',
        router: 'router',
        lease: 'lease',
      });
    }
  }
  return { code: result.code, lease, events, result, leaseFile };
}

/** Runs dhcp-probe.ts in the client's namespace; returns every reply it saw. */
export async function probe(lab: Lab, c: Client, spec: Omit<ProbeSpec, 'mac'>): Promise<ProbeReply[]> {
  const full: ProbeSpec = { mac: c.mac, ...spec };
  // The namespace has no address and no route, so a UDP send to 255.255.255.255 fails with
  // ENETUNREACH; a link route for the limited broadcast lets it out of eth0 from 0.0.0.0.
  await lab.exec(c.ns, 'ip', ['route', 'replace', '255.255.255.255', 'dev', c.ifname]);
  const result = await lab.exec(
    c.ns,
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'test', 'helpers', 'dhcp-probe.ts'), JSON.stringify(full)],
    // The allowance is for Node and tsx starting: two dozen probes at once on 2 busy cores
    // took over 20 s to start (dhcp-restart failed so under load 17); a hang still ends here.
    { timeoutMs: (spec.listenMs ?? 2000) + 60_000 },
  );
  if (result.code !== 0) {
    throw new Error(`dhcp-probe failed (${result.code}): ${result.stderr}`);
  }
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ProbeReply);
}

/** Decodes a hex option value as text (option 60, 67...). */
export function optText(r: ProbeReply, code: number): string | undefined {
  const h = r.options[String(code)];
  return h === undefined ? undefined : Buffer.from(h, 'hex').toString('latin1');
}

/** Decodes a 4-byte hex option value as a dotted quad (option 1, 3, 54...). */
export function optIp(r: ProbeReply, code: number): string | undefined {
  const h = r.options[String(code)];
  if (h === undefined || h.length < 8) return undefined;
  const b = Buffer.from(h.slice(0, 8), 'hex');
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}
