/**
 * Builds and removes the lab's network (layout.ts has the picture). Everything goes through
 * `ip -batch` runs: namespaces first, then the links created from inside them, so that no
 * interface ever appears in the host's namespace, not even for a moment.
 */
import { spawnSync } from 'node:child_process';
import { MetalseedError } from '../lib/errors.ts';
import {
  BRIDGE,
  type Namespaces,
  PROV_IF,
  PROV_NET,
  SEED_IP,
  SEED_PORT_IF,
  UPLINK_IF,
  UPLINK_NET,
} from './layout.ts';

/** Runs `ip [-n NS] -batch -`; throws with ip's own message when a line fails. */
export function ipBatch(lines: string[], netns?: string): void {
  if (lines.length === 0) return;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  const r = spawnSync('ip', args, { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new MetalseedError(
      'INTERFACE',
      `ip ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`,
    );
  }
}

export function namespaceExists(ns: string): boolean {
  return spawnSync('ip', ['netns', 'pids', ns], { stdio: 'ignore' }).status === 0;
}

/** PIDs of processes inside `ns` (empty when it does not exist). */
export function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Creates the three namespaces and their links; on failure removes what it made. */
export function createNetwork(ns: Namespaces): void {
  const all = Object.values(ns);
  ipBatch(all.map((n) => `netns add ${n}`));
  try {
    const sysctl = (n: string, kv: string[]) => `netns exec ${n} sysctl -qw ${kv.join(' ')}`;
    ipBatch([
      // the switch and the outside world stay quiet on IPv6 (no RS, MLD, DAD on the wire)
      sysctl(ns.switch, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']),
      sysctl(ns.uplink, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']),
      // the seed sends IPv6 RAs so iPXE does not wait ~15 s for one; no DAD, so its link-local
      // address is usable at once; forwarding, as the classic master routed its nodes
      sysctl(ns.seed, ['net.ipv6.conf.default.accept_dad=0', 'net.ipv4.ip_forward=1']),
    ]);
    ipBatch(
      [
        'link set lo up',
        // STP off and no forward delay: a port forwards the moment QEMU opens its tap
        `link add ${BRIDGE} type bridge stp_state 0 forward_delay 0`,
        `link set ${BRIDGE} up`,
        `link add ${SEED_PORT_IF} type veth peer name ${PROV_IF} netns ${ns.seed}`,
        `link set ${SEED_PORT_IF} master ${BRIDGE} up`,
      ],
      ns.switch,
    );
    ipBatch(
      [
        'link set lo up',
        `link add ${UPLINK_IF} type veth peer name ${UPLINK_IF} netns ${ns.uplink}`,
        `addr add ${SEED_IP}/24 dev ${PROV_IF}`,
        `link set ${PROV_IF} up`,
        `addr add ${UPLINK_NET}.1/24 dev ${UPLINK_IF}`,
        `link set ${UPLINK_IF} up`,
        `route add default via ${UPLINK_NET}.254`,
      ],
      ns.seed,
    );
    ipBatch(
      [
        'link set lo up',
        `addr add ${UPLINK_NET}.254/24 dev ${UPLINK_IF}`,
        `link set ${UPLINK_IF} up`,
        `route add ${PROV_NET}.0/24 via ${UPLINK_NET}.1`,
      ],
      ns.uplink,
    );
  } catch (err) {
    deleteNamespaces(all);
    throw err;
  }
}

/** A tap for one machine, on the bridge (QEMU opens it from the switch namespace). */
export function addTap(ns: Namespaces, tap: string): void {
  ipBatch([`tuntap add dev ${tap} mode tap`, `link set ${tap} master ${BRIDGE} up`], ns.switch);
}

/** Deletes those that exist; returns the ones deleted. */
export function deleteNamespaces(names: string[]): string[] {
  const present = names.filter(namespaceExists);
  // -force: go on after a failure (one already gone)
  spawnSync('ip', ['-force', '-batch', '-'], { input: present.map((n) => `netns del ${n}\n`).join('') });
  return present.filter((n) => !namespaceExists(n));
}
