/**
 * Cluster awareness: the node watcher reports Node facts, this decides what they mean for
 * machines. A Node belongs to the machine whose hostname is its name (kubeadm registers the
 * node under `nodeRegistration.name`, which the seed sets to the hostname), else to the one
 * machine holding its InternalIP. Only changes land on the timeline: `node.registered`,
 * `node.ready` (state `joined`), `node.not_ready`, `node.deleted`, never a heartbeat.
 *
 * Stale Nodes of diskless workers. A diskless worker that reboots is a new node with the old
 * name, and `kubeadm join` stops in its kubelet-start phase when "a Node with name %q and
 * status "Ready" already exists in the cluster" (kubeadm cmd/phases/join/kubelet.go: it GETs
 * the Node by name and refuses while its Ready condition is True). The old Node reads Ready
 * until the node lifecycle controller gives up on it (node-monitor-grace-period, 40–50 s), so
 * a quick PXE round can hit it. When a worker starts a new netboot round, the seed deletes the
 * Node of the previous boot, but only when all of these hold:
 *  - the machine's role is `worker` and the Node has no control-plane label: deleting a
 *    control-plane Node is destructive, and controllers are not diskless (k8s-bootstrap 1c);
 *  - the Node has the machine's hostname as its name (only a same-name Node blocks a join);
 *  - the old kubelet is dead: its Lease (kube-node-lease/NAME, renewed every 10 s) did not
 *    change during STALE_CHECK_MS after the round began. Two readings of the server's object
 *    are compared, so clocks do not matter. A renewal means the kubelet lives (a spoofed
 *    DISCOVER, or another machine with this hostname): the Node is kept (`node.stale_kept`).
 *    Without a Lease, only a Node already not Ready is deleted;
 *  - the Node still carries the old boot's uid and bootID when the check ends (a new boot
 *    that re-registered on it is left alone), enforced with a uid precondition on DELETE.
 */
import type { Machine, MachineState } from '../inventory/index.ts';
import type { NodeFact, Readiness } from '../kube/index.ts';
import type { Logger } from '../lib/log.ts';
import type { Registry } from './registry.ts';
import type { Timeline } from './timeline.ts';

/** Longer than the kubelet's 10 s Lease renew interval (a quarter of leaseDurationSeconds 40). */
export const STALE_CHECK_MS = 15_000;

export interface LeaseReading {
  renewTime: string;
  resourceVersion: string;
}

/** What the decisions need from the API server. */
export interface NodeOps {
  /** Deletes the Node if its uid still matches; false when it was gone or replaced. */
  deleteNode(name: string, uid: string): Promise<boolean>;
  /** The kubelet's Lease, or null when the cluster has none for this node. */
  lease(name: string): Promise<LeaseReading | null>;
}

export interface ClusterNodesOptions {
  registry: Registry;
  timeline: Timeline;
  logger: Logger;
  ops: NodeOps;
  staleCheckMs?: number;
}

type Reported = Readiness | 'absent';

/** The previous boot's Node, while a new round has not produced its own. */
interface OldBoot {
  uid: string;
  bootID: string;
}

export class ClusterNodes {
  private readonly nodes = new Map<string, NodeFact>();
  /** Per machine id: the readiness last put on its timeline. */
  private readonly reported = new Map<string, Reported>();
  private readonly oldBoot = new Map<string, OldBoot>();
  private readonly deletedByUs = new Set<string>();
  private readonly checks = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: ClusterNodesOptions) {}

  /** After a (re)list: Nodes missing from it were deleted while we were not watching. */
  onSync(nodes: NodeFact[]): void {
    const present = new Set(nodes.map((n) => n.name));
    for (const old of [...this.nodes.values()]) if (!present.has(old.name)) this.onDeleted(old);
    for (const n of nodes) this.onNode(n);
  }

  onNode(n: NodeFact): void {
    this.nodes.set(n.name, n);
    const m = this.machineOf(n);
    if (!m) return;
    const old = this.oldBoot.get(m.id);
    if (old && old.uid === n.uid && old.bootID === n.bootID) return; // the previous boot's object
    this.oldBoot.delete(m.id);
    const last = this.lastReported(m);
    if (kind(last) === kind(n.ready)) return; // a heartbeat, or False ↔ Unknown
    const data = {
      node: n.name,
      ...(n.internalIPs[0] ? { address: n.internalIPs[0] } : {}),
      bootID: n.bootID,
    };
    if (n.ready === 'True') this.o.timeline.record(m, 'node.ready', data);
    else if (last === 'True') this.o.timeline.record(m, 'node.not_ready', { ...data, ready: n.ready });
    else this.o.timeline.record(m, 'node.registered', { ...data, ready: n.ready });
    this.reported.set(m.id, n.ready);
  }

  onDeleted(n: NodeFact): void {
    this.nodes.delete(n.name);
    const m = this.machineOf(n);
    if (this.deletedByUs.delete(n.uid) || !m) return;
    if (this.lastReported(m) === 'absent') return;
    this.reported.set(m.id, 'absent');
    this.o.timeline.record(m, 'node.deleted', { node: n.name, bootID: n.bootID });
  }

  /**
   * The machine began a new netboot round (timeline `onNewRound`): its previous boot is over.
   * `from` is the state it left.
   */
  onNewRound(m: Machine, from: MachineState): void {
    const n = this.byName(m.hostname);
    if (!n) return;
    this.oldBoot.set(m.id, { uid: n.uid, bootID: n.bootID });
    this.reported.set(m.id, 'absent'); // the new boot's Ready must be recorded afresh
    if (m.role !== 'worker' || n.controlPlane) {
      this.o.logger.debug(
        { event: 'node.stale_skip', node: n.name, role: m.role, from },
        'not a worker: Node kept',
      );
      return;
    }
    const check = this.checkStale(m, n).catch((err: Error) =>
      this.o.logger.warn(
        { event: 'node.stale_check_failed', node: n.name, err: err.message },
        'stale Node check failed',
      ),
    );
    this.checks.add(check);
    void check.finally(() => this.checks.delete(check));
  }

  /** Stops pending checks; resolves when the running ones are done. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.checks);
  }

  private async checkStale(m: Machine, n: NodeFact): Promise<void> {
    const before = await this.o.ops.lease(n.name);
    await this.wait(this.o.staleCheckMs ?? STALE_CHECK_MS);
    if (this.closed) return;
    const after = await this.o.ops.lease(n.name);
    const now = this.nodes.get(n.name);
    const machine = this.o.registry.get(m.id) ?? m;
    if (!now || now.uid !== n.uid || now.bootID !== n.bootID || machine.state === 'joined') return; // already replaced
    let reason: string;
    if (before && after) {
      if (after.renewTime !== before.renewTime || after.resourceVersion !== before.resourceVersion) {
        return this.keep(machine, n, 'the kubelet still renews its Lease: this is not the previous boot');
      }
      reason = `Lease not renewed since ${before.renewTime}`;
    } else if (now.ready !== 'True') {
      reason = `no Lease, and the Node is not Ready (${now.ready})`;
    } else {
      return this.keep(machine, n, 'no Lease to prove the kubelet stopped, and the Node still reads Ready');
    }
    this.deletedByUs.add(n.uid);
    if (!(await this.o.ops.deleteNode(n.name, n.uid))) {
      this.deletedByUs.delete(n.uid);
      return;
    }
    this.o.timeline.record(machine, 'node.stale_deleted', {
      node: n.name,
      uid: n.uid,
      bootID: n.bootID,
      reason,
    });
    this.o.logger.info(
      { event: 'node.stale_deleted', node: n.name, machine: m.id, reason },
      'deleted the Node of the previous boot so kubeadm join can register the new one',
    );
  }

  private keep(m: Machine, n: NodeFact, reason: string): void {
    this.o.timeline.record(m, 'node.stale_kept', { node: n.name, reason });
    this.o.logger.warn({ event: 'node.stale_kept', node: n.name, machine: m.id, reason }, 'Node kept');
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** What the timeline last said; a joined machine (e.g. after a seed restart) was Ready. */
  private lastReported(m: Machine): Reported {
    return this.reported.get(m.id) ?? (m.state === 'joined' ? 'True' : 'absent');
  }

  private byName(hostname: string): NodeFact | undefined {
    return this.nodes.get(hostname.toLowerCase());
  }

  /** Name first (kubeadm's node name is the hostname), else a unique InternalIP owner. */
  private machineOf(n: NodeFact): Machine | undefined {
    const all = this.o.registry.all();
    const named = all.filter((m) => m.hostname.toLowerCase() === n.name);
    if (named.length === 1) return named[0];
    if (named.length > 1) return undefined; // two machines claim the name: decide nothing
    const byIp = all.filter((m) => m.addresses.some((a) => n.internalIPs.includes(a)));
    if (byIp.length !== 1) return undefined;
    // the owner of the address must not have a Node of its own under its name
    return this.nodes.has(byIp[0]!.hostname.toLowerCase()) ? undefined : byIp[0];
  }
}

function kind(r: Reported): 'ready' | 'not_ready' | 'absent' {
  return r === 'True' ? 'ready' : r === 'absent' ? 'absent' : 'not_ready';
}
