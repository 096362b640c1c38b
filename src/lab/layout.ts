/**
 * Where everything of one lab lives: namespace names (from a prefix, so a test's lab and a
 * user's lab never meet), the fixed interface names inside them, the addresses of the two
 * private networks, the machines' MACs, and the files under the lab's state directory.
 *
 *   <prefix>up    "the outside world": uplink0 10.78.0.254/24, routes back to the lab
 *   <prefix>seed  the seed: uplink0 10.78.0.1/24 (default route via .254), prov0 10.77.0.1/24
 *   <prefix>sw    the switch: bridge br0 with the seed's port and one tap per machine;
 *                 QEMU runs here (a tap can only be opened in its own namespace)
 *
 * Every link is a veth pair or tap created inside these namespaces: nothing is added to, or
 * attached to, the host's own namespace.
 */
import { join } from 'node:path';

/** `msl-` (metalseed lab); the test suite's namespaces are `mst-<pid>-…`. */
export const DEFAULT_PREFIX = 'msl-';
/** FHS state for a root-run tool; survives reboots so the boot image is built once. */
export const DEFAULT_DIR = '/var/lib/metalseed-lab';
/** Namespace names become file names in /run/netns; keep them short and shell-safe. */
export const PREFIX_RE = /^[a-z][a-z0-9-]{0,23}$/;

/** The provisioning network (the classic Vagrant setup's internal network `kubernetes1`). */
export const PROV_NET = '10.77.0';
/** The seed's uplink, where its default route points. */
export const UPLINK_NET = '10.78.0';
export const SEED_IP = `${PROV_NET}.1`;
export const SEED_PORT = 8080;
export const SEED_URL = `http://${SEED_IP}:${SEED_PORT}`;
/** The lab's Kubernetes API endpoint: a fixed address a controller would have (none boots yet). */
export const CONTROL_PLANE_ENDPOINT = `${PROV_NET}.10:6443`;
export const PROV_IF = 'prov0';
export const UPLINK_IF = 'uplink0';
export const BRIDGE = 'br0';
/** The seed's port on the bridge, in the switch namespace. */
export const SEED_PORT_IF = 'seed-br';

export interface Namespaces {
  switch: string;
  seed: string;
  uplink: string;
}

export function namespaces(prefix: string): Namespaces {
  return { switch: `${prefix}sw`, seed: `${prefix}seed`, uplink: `${prefix}up` };
}

export function allNamespaces(prefix: string): string[] {
  return Object.values(namespaces(prefix));
}

/** Machine N (1-based): name `mN`, tap `tapN`, MAC 52:54:00:4d:53:NN ("MS"). */
export const MAX_MACHINES = 250;

export function machineName(index: number): string {
  return `m${index}`;
}

export function machineMac(index: number): string {
  return `52:54:00:4d:53:${index.toString(16).padStart(2, '0')}`;
}

export function tapName(index: number): string {
  return `tap${index}`;
}

/** Files under the state directory. `run/` is the lab that is up; `image/` outlives it. */
export function paths(dir: string) {
  const run = join(dir, 'run');
  return {
    dir,
    state: join(dir, 'state.json'),
    image: join(dir, 'image'),
    run,
    dataDir: join(run, 'data'),
    config: join(run, 'seed.yaml'),
    seedLog: join(run, 'seed.log'),
    proxyLog: join(run, 'api-proxy.log'),
    /** The seed's operator API, reachable from the host through this socket (api.ts). */
    apiSocket: join(run, 'api.sock'),
    machineDir: join(run, 'machines'),
  };
}

export type LabPaths = ReturnType<typeof paths>;
