/**
 * Node facts → machine timelines: joined on Ready, events only on transitions, and the
 * stale-Node rule for diskless workers (delete only a worker's same-name Node whose kubelet
 * stopped renewing its Lease; never a controller's; never a Node the new boot already owns).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import type { Machine } from '../inventory/index.ts';
import type { NodeFact } from '../kube/index.ts';
import { parseMac } from '../lib/net.ts';
import { ClusterNodes, type LeaseReading, type NodeOps } from './cluster-nodes.ts';

const YAML = `
machines:
  - { mac: "52:54:00:00:00:21", role: worker, hostname: worker-01 }
  - { mac: "52:54:00:00:00:22", role: worker, hostname: worker-02 }
  - { mac: "52:54:00:00:00:11", role: controller, hostname: cp-01 }
`;

class FakeOps implements NodeOps {
  readonly deleted: string[] = [];
  readonly leases = new Map<string, LeaseReading>();
  /** Called between the two Lease readings: a live kubelet renews here. */
  onLeaseRead: (name: string, n: number) => void = () => {};
  private reads = 0;
  async deleteNode(name: string, uid: string): Promise<boolean> {
    this.deleted.push(`${name}/${uid}`);
    return true;
  }
  async lease(name: string): Promise<LeaseReading | null> {
    this.onLeaseRead(name, this.reads++);
    return this.leases.get(name) ?? null;
  }
}

function node(name: string, ready: NodeFact['ready'], o: Partial<NodeFact> = {}): NodeFact {
  return { name, uid: `uid-${name}`, ready, internalIPs: [], bootID: 'boot-1', controlPlane: false, ...o };
}

async function setup() {
  const { p, store } = await testProvisioner(YAML);
  const ops = new FakeOps();
  const cn = new ClusterNodes({
    registry: p.registry,
    timeline: p.timeline,
    logger: p.o.logger,
    ops,
    staleCheckMs: 20,
  });
  p.timeline.onNewRound((m, from) => cn.onNewRound(m, from));
  const machine = (mac: string): Machine => p.machineFor({ mac: parseMac(mac)! });
  const events = async (m: Machine) => {
    await p.flush();
    return (await store.listEvents(m.id)).map((e) => e.type).filter((t) => t.startsWith('node.'));
  };
  const state = (m: Machine) => p.registry.get(m.id)!.state;
  /** Through DHCP → script → Ignition → report, as a booting machine goes. */
  const provision = (m: Machine) => {
    p.timeline.record(m, 'dhcp.discover', {}, { netbootStart: true });
    p.timeline.record(m, 'http.ipxe', {});
    p.timeline.record(m, 'http.ignition', {});
    p.timeline.record(m, 'report', {});
  };
  const reboot = (m: Machine) => p.timeline.record(m, 'dhcp.discover', {}, { netbootStart: true });
  return { p, cn, ops, machine, events, state, provision, reboot };
}

const settle = (ms = 80) => new Promise((r) => setTimeout(r, ms));

describe('ClusterNodes', () => {
  it('marks a machine joined when its Node turns Ready, and records only transitions', async () => {
    const { cn, machine, events, state, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    assert.equal(state(w1), 'provisioned');
    cn.onSync([]);
    cn.onNode(node('worker-01', 'False'));
    cn.onNode(node('worker-01', 'False')); // heartbeat
    cn.onNode(node('worker-01', 'Unknown')); // still not ready: no event
    assert.equal(state(w1), 'provisioned');
    cn.onNode(node('worker-01', 'True'));
    assert.equal(state(w1), 'joined');
    for (let i = 0; i < 5; i++) cn.onNode(node('worker-01', 'True')); // MODIFIED heartbeats
    cn.onNode(node('worker-01', 'Unknown'));
    cn.onNode(node('worker-01', 'True'));
    cn.onDeleted(node('worker-01', 'True'));
    cn.onDeleted(node('worker-01', 'True'));
    assert.deepEqual(await events(w1), [
      'node.registered',
      'node.ready',
      'node.not_ready',
      'node.ready',
      'node.deleted',
    ]);
  });

  it('matches by InternalIP when no machine has the Node name, and never guesses between two', async () => {
    const { p, cn, machine, events } = await setup();
    const w2 = machine('52:54:00:00:00:22');
    p.registry.put({ ...p.registry.get(w2.id)!, addresses: ['10.0.0.22'] });
    cn.onNode(node('ip-10-0-0-22', 'True', { internalIPs: ['10.0.0.22'] }));
    assert.deepEqual(await events(w2), ['node.ready']);
    const w1 = machine('52:54:00:00:00:21');
    p.registry.put({ ...p.registry.get(w1.id)!, addresses: ['10.0.0.99'] });
    p.registry.put({ ...p.registry.get(w2.id)!, addresses: ['10.0.0.99'] });
    cn.onNode(node('other', 'True', { internalIPs: ['10.0.0.99'] }));
    assert.deepEqual(await events(w1), []);
  });

  it('after a seed restart, a joined machine whose Node is still Ready gets no duplicate event', async () => {
    const { p, cn, machine, events } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    p.registry.put({ ...p.registry.get(w1.id)!, state: 'joined' });
    cn.onSync([node('worker-01', 'True')]);
    assert.deepEqual(await events(w1), []);
  });

  it('a relist without a Node we knew reports it deleted', async () => {
    const { cn, machine, events, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    cn.onSync([node('worker-01', 'True'), node('worker-02', 'True')]);
    cn.onSync([node('worker-02', 'True')]);
    assert.deepEqual(await events(w1), ['node.ready', 'node.deleted']);
  });

  it('a rebooted diskless worker: the old boot Node is deleted once its Lease stops, and the new boot joins', async () => {
    const { cn, ops, machine, events, state, provision, reboot } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    cn.onSync([node('worker-01', 'True')]);
    ops.leases.set('worker-01', { renewTime: '2026-11-28T10:00:00.000000Z', resourceVersion: '500' });
    reboot(w1);
    assert.equal(state(w1), 'discovered');
    // the old Node still heartbeats Ready (status not yet timed out): it must not re-join the machine
    cn.onNode(node('worker-01', 'True'));
    assert.equal(state(w1), 'discovered');
    await settle();
    assert.deepEqual(ops.deleted, ['worker-01/uid-worker-01']);
    cn.onDeleted(node('worker-01', 'True')); // the watch's DELETED for our own delete: no extra event
    provision(w1);
    cn.onNode(node('worker-01', 'False', { uid: 'uid-new', bootID: 'boot-2' }));
    cn.onNode(node('worker-01', 'True', { uid: 'uid-new', bootID: 'boot-2' }));
    assert.equal(state(w1), 'joined');
    assert.deepEqual(await events(w1), ['node.ready', 'node.stale_deleted', 'node.registered', 'node.ready']);
  });

  it('keeps the Node when the kubelet still renews its Lease (a spoofed or mistaken netboot)', async () => {
    const { cn, ops, machine, events, reboot, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    cn.onSync([node('worker-01', 'True')]);
    ops.leases.set('worker-01', { renewTime: '2026-11-28T10:00:00.000000Z', resourceVersion: '500' });
    ops.onLeaseRead = (name, n) => {
      if (n === 1) ops.leases.set(name, { renewTime: '2026-11-28T10:00:10.000000Z', resourceVersion: '501' });
    };
    reboot(w1);
    await settle();
    assert.deepEqual(ops.deleted, []);
    assert.deepEqual(await events(w1), ['node.ready', 'node.stale_kept']);
  });

  it('never deletes a controller Node, nor a Node carrying the control-plane label', async () => {
    const { p, cn, ops, machine, events, reboot, provision } = await setup();
    const cp = machine('52:54:00:00:00:11');
    provision(cp);
    cn.onSync([node('cp-01', 'True', { controlPlane: true })]);
    reboot(cp);
    // a "worker" machine whose Node is labelled control-plane (relabelled by hand) is kept too
    const w2 = machine('52:54:00:00:00:22');
    provision(w2);
    cn.onNode(node('worker-02', 'True', { controlPlane: true }));
    reboot(w2);
    await settle();
    assert.deepEqual(ops.deleted, []);
    assert.deepEqual(await events(cp), ['node.ready']);
    assert.equal(p.registry.get(cp.id)!.state, 'discovered');
  });

  it('without a Lease: deletes only a Node that is no longer Ready', async () => {
    const { cn, ops, machine, reboot, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    const w2 = machine('52:54:00:00:00:22');
    provision(w1);
    provision(w2);
    cn.onSync([node('worker-01', 'True'), node('worker-02', 'Unknown')]);
    reboot(w1);
    reboot(w2);
    await settle();
    assert.deepEqual(ops.deleted, ['worker-02/uid-worker-02']);
  });

  it('leaves the Node alone when the new boot re-registered on it before the check ended', async () => {
    const { cn, ops, machine, reboot, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    cn.onSync([node('worker-01', 'Unknown')]);
    ops.leases.set('worker-01', { renewTime: '2026-11-28T10:00:00.000000Z', resourceVersion: '500' });
    reboot(w1);
    cn.onNode(node('worker-01', 'False', { bootID: 'boot-2' })); // same object, new kubelet
    await settle();
    assert.deepEqual(ops.deleted, []);
  });

  it('close() cancels a pending check', async () => {
    const { cn, ops, machine, reboot, provision } = await setup();
    const w1 = machine('52:54:00:00:00:21');
    provision(w1);
    cn.onSync([node('worker-01', 'True')]);
    ops.leases.set('worker-01', { renewTime: 't', resourceVersion: '1' });
    reboot(w1);
    await cn.close();
    await settle();
    assert.deepEqual(ops.deleted, []);
  });
});
