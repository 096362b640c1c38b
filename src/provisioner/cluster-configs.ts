/**
 * The built-in config by role (profile config `ignition-role`) once the seed holds a cluster:
 * workers get the node config with their JoinConfiguration; controllers get a public stage 1
 * that merges their secret stage over https, and only while enrolment is armed. This is where
 * the seed decides who initialises the cluster: the controller at the control-plane endpoint's
 * address (the configured endpoint, else the first controller under `machines` with a fixed
 * ip, else the first controller that enrolled).
 */
import {
  controllerSecrets,
  controllerStage1,
  type IgnitionSpec,
  nodeIgnition,
  renderIgnition,
} from '../cluster/index.ts';
import {
  renderControlPlaneJoinConfig,
  renderFlannelManifest,
  renderInitConfig,
  renderWorkerJoinConfig,
} from '../cluster/kube/index.ts';
import type { BootstrapToken, ClusterIdentity } from '../cluster/pki/index.ts';
import type { ClusterSpec, Endpoint, MachineConfig } from '../config/index.ts';
import type { Machine } from '../inventory/index.ts';
import { BoundedMemo } from '../lib/memo.ts';
import { ipToString } from '../lib/net.ts';
import type { SecretGate } from './secret-gate.ts';

export interface ClusterRuntime {
  spec: ClusterSpec;
  identity: ClusterIdentity;
  caCertHash: string;
  bootstrapToken: () => BootstrapToken;
  /** CA of the seed's https certificate (pinned in stage 1). */
  seedCaPem: string;
  /** `https://ADVERTISE:TLSPORT`; null when the https listener is off. */
  secretsBaseUrl: string | null;
  /** The Kubernetes sysext in the asset cache, if any. */
  sysext: () => { url: string; sha256: string } | undefined;
  gate: SecretGate;
}

export const IGNITION_TYPE = 'application/vnd.coreos.ignition+json';

export type RoleConfig =
  | { ok: true; body: string; data: Record<string, unknown> }
  /** `retry`: the answer may change later, Ignition should retry (503); otherwise refused (403). */
  | { ok: false; event: string; message: string; hint: string; retry?: boolean };

export interface RoleInput {
  machine: Machine;
  address: string;
  reportUrl: string;
  controllers: readonly Machine[];
  configMachines: readonly MachineConfig[];
  now: Date;
}

/**
 * Rendered worker configs, per cluster spec. Rendering one (kubeadm YAML, then Ignition JSON)
 * costs ~0.2 ms; a boot storm's retries and every re-fetch ask again with the same inputs.
 * 16,384 entries of ~3.4 KB: a /18 of workers in ~55 MB at most.
 */
const WORKER_MEMO_SIZE = 16_384;
const workerMemos = new WeakMap<ClusterSpec, BoundedMemo<string>>();

function workerMemo(spec: ClusterSpec): BoundedMemo<string> {
  let m = workerMemos.get(spec);
  if (!m) {
    m = new BoundedMemo<string>(WORKER_MEMO_SIZE);
    workerMemos.set(spec, m);
  }
  return m;
}

/** Shown instead of a bearer token by a preview, which must not issue one. */
export const PREVIEW_BEARER = 'issued-when-the-machine-fetches-this-config';

/**
 * The machine's node config; null for roles without one (they keep the minimal config).
 * `preview`: render without issuing a token (the API's preview).
 */
export function roleConfig(rt: ClusterRuntime, i: RoleInput, preview = false): RoleConfig | null {
  const role = i.machine.role;
  if (role !== 'worker' && role !== 'controller') return null;
  const endpoint = controlPlaneEndpoint(rt.spec, i);
  if (endpoint === null) return NO_ENDPOINT;
  const node = { hostname: i.machine.hostname, address: i.address };
  const token = rt.bootstrapToken().value();
  const sysext = rt.sysext();
  const base = {
    hostname: i.machine.hostname,
    cluster: rt.spec,
    sshAuthorizedKeys: rt.spec.sshAuthorizedKeys,
    reportUrl: i.reportUrl,
    ...(sysext ? { sysext } : {}),
    ...(rt.spec.scratchDisk ? { scratchDisk: rt.spec.scratchDisk } : {}),
  };
  const facts = { sysext: sysext !== undefined, endpoint: `${endpoint.host}:${endpoint.port}` };
  if (role === 'worker') {
    // A worker's config is a pure function of these inputs (and of rt.spec, the memo's owner).
    const key = JSON.stringify([node, endpoint, token, rt.caCertHash, i.reportUrl, sysext ?? null]);
    const body = workerMemo(rt.spec).get(key, () => {
      const joinConfig = renderWorkerJoinConfig({
        node,
        endpoint,
        bootstrapToken: token,
        caCertHash: rt.caCertHash,
      });
      return renderIgnition(nodeIgnition({ ...base, role: 'worker', joinConfig }));
    });
    return { ok: true, body, data: { ...facts, kubeadm: 'join' } };
  }
  if (rt.secretsBaseUrl === null) {
    return refuse(
      'secrets.off',
      'the https listener is off (http.tlsPort: 0)',
      'set http.tlsPort (default 8443)',
    );
  }
  const bearer = preview ? PREVIEW_BEARER : rt.gate.issue(i.machine.id, i.address);
  if (bearer === null) {
    // 503: Ignition retries (every 5 s at most) until the operator arms, so controllers can be
    // powered on first (Ignition operator-notes.md, "HTTP Backoff and Retry")
    return refuse(
      'secrets.unarmed',
      `controller ${i.machine.hostname} is not given cluster secrets: controller enrolment is not armed`,
      'run `metalseed arm --role controller --for 30m` (or set cluster.arm); the controller retries',
      true,
    );
  }
  const first = isFirstController(i, endpoint);
  const spec = controllerStage1({
    node: nodeIgnition({ ...base, role: 'controller' }),
    rootDisk: rt.spec.controllerDisk,
    seedCaPem: rt.seedCaPem,
    secretUrl: `${rt.secretsBaseUrl}/secrets/${i.machine.id}.ign`,
    bearer,
    ...(first ? { flannelManifest: renderFlannelManifest(rt.spec) } : {}),
  });
  return {
    ok: true,
    body: renderIgnition(spec),
    data: { ...facts, kubeadm: first ? 'init' : 'join-control-plane' },
  };
}

/** The secret child for a controller whose token was just redeemed. */
export function secretStage(rt: ClusterRuntime, i: RoleInput): RoleConfig {
  const endpoint = controlPlaneEndpoint(rt.spec, i);
  if (endpoint === null) return NO_ENDPOINT;
  const node = { hostname: i.machine.hostname, address: i.address };
  const token = rt.bootstrapToken();
  let spec: IgnitionSpec;
  if (isFirstController(i, endpoint)) {
    const ttl = Math.max(60, Math.floor((token.expires.getTime() - i.now.getTime()) / 1000));
    const initConfig = renderInitConfig({
      cluster: rt.spec,
      node,
      endpoint,
      bootstrapToken: token.value(),
      tokenTtlSeconds: ttl,
    });
    spec = controllerSecrets({ kind: 'init', identity: rt.identity, initConfig });
  } else {
    const joinConfig = renderControlPlaneJoinConfig({
      node,
      endpoint,
      bootstrapToken: token.value(),
      caCertHash: rt.caCertHash,
    });
    spec = controllerSecrets({ kind: 'join', identity: rt.identity, joinConfig });
  }
  return { ok: true, body: renderIgnition(spec), data: { files: spec.files.map((f) => f.path) } };
}

/**
 * The configured endpoint; else the first configured controller with a fixed ip; else the
 * earliest-enrolled controller that has an address (the one that boots first initialises).
 */
export function controlPlaneEndpoint(spec: ClusterSpec, i: RoleInput): Endpoint | null {
  const asked = controllersOf(i).map((m) =>
    m.id === i.machine.id ? { ...m, addresses: [i.address, ...m.addresses] } : m,
  );
  return knownEndpoint(spec, i.configMachines, asked);
}

/** The same, as the seed itself knows it (for its own API clients): no machine is asking. */
export function knownEndpoint(
  spec: ClusterSpec,
  configMachines: readonly MachineConfig[],
  controllers: readonly Machine[],
): Endpoint | null {
  if (spec.controlPlaneEndpoint) return spec.controlPlaneEndpoint;
  const fixed = configMachines.find((m) => m.role === 'controller' && m.ip !== undefined);
  if (fixed?.ip !== undefined) return { host: ipToString(fixed.ip), port: 6443 };
  const first = earliest(controllers.filter((m) => m.role === 'controller' && m.addresses.length > 0));
  return first ? { host: first.addresses[0]!, port: 6443 } : null;
}

/**
 * The controller that runs `kubeadm init`: the one at the endpoint's address; when the endpoint
 * is a name or a VIP no controller holds, the earliest-enrolled controller.
 */
function isFirstController(i: RoleInput, endpoint: Endpoint): boolean {
  if (i.machine.role !== 'controller') return false;
  const atEndpoint = controllersOf(i).find((m) => addressOf(m, i) === endpoint.host);
  return (atEndpoint ?? earliestController(i))?.id === i.machine.id;
}

function controllersOf(i: RoleInput): Machine[] {
  const others = i.controllers.filter((m) => m.id !== i.machine.id && m.addresses.length > 0);
  return i.machine.role === 'controller' ? [i.machine, ...others] : others;
}

function earliestController(i: RoleInput): Machine | undefined {
  return earliest(controllersOf(i));
}

function earliest(ms: readonly Machine[]): Machine | undefined {
  return [...ms].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id))[0];
}

/** The requesting machine is where it asks from; the others at their latest address (addresses[0]). */
function addressOf(m: Machine, i: RoleInput): string {
  return m.id === i.machine.id ? i.address : m.addresses[0]!;
}

/** Workers that boot before any controller: a 503, so Ignition retries until one has enrolled. */
const NO_ENDPOINT: RoleConfig = refuse(
  'cluster.no_endpoint',
  'the control-plane endpoint is not known yet (no controller has enrolled)',
  'set cluster.controlPlaneEndpoint, or boot the first controller first',
  true,
);

function refuse(event: string, message: string, hint: string, retry = false): RoleConfig {
  return { ok: false, event, message, hint, ...(retry ? { retry } : {}) };
}
