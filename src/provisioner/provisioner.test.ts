import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientPacket } from '../../test/helpers/dhcp-packets.ts';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import type { DhcpEvent, MessageTypeName } from '../dhcp/index.ts';
import type { Provisioner } from './provisioner.ts';
import { ProvisionerService } from './service.ts';

const MAC = '52:54:00:aa:00:01';
const UUID = '8c5f0f6a-1111-2222-3333-444455556666';

async function setup(yaml = '') {
  const { p, store } = await testProvisioner(yaml);
  return { p, store, svc: new ProvisionerService(p) };
}

/** What the DHCP server reports for one message, with a PXE vendor class when `pxe`. */
function dhcp(
  p: Provisioner,
  event: string,
  type: MessageTypeName,
  extra: Partial<DhcpEvent> = {},
  mac = MAC,
) {
  const packet = clientPacket({ mac, type, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', arch: 0 });
  p.onDhcpEvent({ event, mac, xid: 7, request: type, packet, ...extra });
}

describe('provisioner: enrolment and timeline', () => {
  it('a DHCP exchange enrols the machine with defaultRole and a stable generated hostname', async () => {
    const { p, store } = await setup();
    dhcp(p, 'dhcp.offer', 'DISCOVER', { ip: '10.0.0.100' });
    dhcp(p, 'dhcp.ack', 'REQUEST', { ip: '10.0.0.100' });
    await p.flush();
    const [m] = await store.listMachines();
    assert.ok(m);
    assert.equal(m.role, 'worker');
    assert.match(m.hostname, /^worker-[0-9a-f]{6}$/);
    assert.equal(m.firmware, 'bios');
    assert.deepEqual(m.addresses, ['10.0.0.100']);
    assert.equal(m.state, 'discovered');
    const events = await store.listEvents(m.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['dhcp.offer', 'dhcp.ack'],
    );
    assert.ok((events[1]!.durationMs ?? -1) >= 0, 'the ack carries the time since the discover');
    assert.deepEqual(events[1]!.data, { xid: 7, ip: '10.0.0.100' });
  });

  it('walks the states: booting (script) → configured (ignition) → provisioned (report); a new PXE boot restarts', async () => {
    const { p } = await setup();
    dhcp(p, 'dhcp.ack', 'REQUEST', { ip: '10.0.0.100' });
    const script = p.machineScript({ mac: MAC, platform: 'pcbios' }, '10.0.0.100')!;
    assert.equal(p.registry.get(script.machine.id)!.state, 'booting');
    const m = script.machine;
    assert.ok(p.renderConfigFor(p.registry.get(m.id)!));
    p.timeline.record(m, 'http.ignition', {});
    assert.equal(p.registry.get(m.id)!.state, 'configured');
    p.timeline.record(m, 'report', {});
    assert.equal(p.registry.get(m.id)!.state, 'provisioned');
    dhcp(p, 'dhcp.offer', 'DISCOVER', { ip: '10.0.0.100' });
    assert.equal(p.registry.get(m.id)!.state, 'discovered', 'a reboot from the network is a new round');
  });

  it('a DISCOVER that got no offer still starts a new round, and its event names the request', async () => {
    const { p, store } = await setup();
    dhcp(p, 'dhcp.ack', 'REQUEST', { ip: '10.0.0.100' });
    const m = p.registry.find({ macs: [MAC] })!;
    p.timeline.record(m, 'http.ignition', {});
    p.timeline.record(m, 'report', {});
    dhcp(p, 'dhcp.ignored', 'REQUEST', { reason: 'no pool for relay subnet of 10.9.0.1' });
    assert.equal(p.registry.get(m.id)!.state, 'provisioned', 'a REQUEST is no netboot start');
    dhcp(p, 'dhcp.ignored', 'DISCOVER', { reason: 'no pool for relay subnet of 10.9.0.1' });
    assert.equal(p.registry.get(m.id)!.state, 'discovered', 'firmware netbooting again is a new round');
    await p.flush();
    const ignored = (await store.listEvents(m.id)).filter((e) => e.type === 'dhcp.ignored');
    assert.deepEqual(
      ignored.map((e) => e.data.request),
      ['REQUEST', 'DISCOVER'],
    );
  });

  it('TFTP and /boot.ipxe steps find the machine by the address it leased', async () => {
    const { p, store } = await setup();
    dhcp(p, 'dhcp.ack', 'REQUEST', { ip: '10.0.0.100' });
    assert.equal(
      p.stepByAddress('10.0.0.100', 'tftp.done', { file: 'undionly.kpxe', bytes: 74213 }, 41),
      MAC,
    );
    assert.equal(p.stepByAddress('10.0.0.200', 'tftp.done', {}), undefined, 'unknown address: no machine');
    await p.flush();
    const [m] = await store.listMachines();
    const tftp = (await store.listEvents(m!.id)).find((e) => e.type === 'tftp.done')!;
    assert.deepEqual([tftp.mac, tftp.durationMs, tftp.data.bytes], [MAC, 41, 74213]);
  });

  it('one machine seen through two MACs with the same UUID stays one machine', async () => {
    const { p, store } = await setup();
    const a = p.machineScript({ mac: MAC, uuid: UUID })!.machine;
    const b = p.machineScript({ mac: '52:54:00:aa:00:02', uuid: UUID })!.machine;
    assert.equal(a.id, b.id);
    await p.flush();
    const all = await store.listMachines();
    assert.equal(all.length, 1);
    assert.deepEqual(all[0]!.macs, [MAC, '52:54:00:aa:00:02']);
    assert.equal(all[0]!.uuid, UUID);
  });

  it('ignores placeholder UUIDs such as all zeros (QEMU without -uuid)', async () => {
    const { p } = await setup();
    const a = p.machineScript({ mac: MAC, uuid: '00000000-0000-0000-0000-000000000000' })!.machine;
    const b = p.machineScript({
      mac: '52:54:00:aa:00:02',
      uuid: '00000000-0000-0000-0000-000000000000',
    })!.machine;
    assert.notEqual(a.id, b.id);
    assert.equal(a.uuid, undefined);
  });
});

describe('provisioner: roles, rules and approval', () => {
  it('a config machine keeps its role and hostname; rules decide the others', async () => {
    const { p } = await setup(`
machines:
  - { mac: "${MAC}", role: controller, hostname: cp-01 }
rules:
  - { name: uefi-controllers, match: { firmware: [uefi-x64] }, set: { role: controller, labels: { rack: a } } }
  - { name: everyone-bios, match: { firmware: [bios] }, set: { role: gpu } }
`);
    dhcp(p, 'dhcp.offer', 'DISCOVER');
    const cp = p.registry.find({ macs: [MAC] })!;
    assert.deepEqual([cp.role, cp.hostname, cp.hostnameSource], ['controller', 'cp-01', 'config']);
    dhcp(p, 'dhcp.offer', 'DISCOVER', {}, '52:54:00:aa:00:09');
    assert.equal(p.registry.find({ macs: ['52:54:00:aa:00:09'] })!.role, 'gpu');
  });

  it('defaultRole none holds machines pending: wait script, no config, until approved', async () => {
    const { p, svc } = await setup('defaultRole: none\n');
    const r = p.machineScript({ mac: MAC })!;
    assert.equal(r.machine.state, 'pending');
    assert.match(r.script, /waiting for approval/);
    assert.equal(p.renderConfigFor(r.machine), null);
    const approved = await svc.approveMachine(MAC);
    assert.deepEqual([approved.state, approved.role], ['discovered', 'worker']);
    assert.match(approved.hostname, /^worker-/);
    assert.match(p.machineScript({ mac: MAC })!.script, /^kernel /m);
  });

  it('operator edits pin role and hostname; labels merge and unset', async () => {
    const { p, svc } = await setup();
    const m = p.machineScript({ mac: MAC })!.machine;
    const u = await svc.updateMachine(m.id, { role: 'controller', labels: { zone: 'a', gone: 'x' } });
    assert.equal(u.role, 'controller');
    assert.match(u.hostname, /^controller-/, 'a generated hostname follows the role');
    const v = await svc.updateMachine(MAC, { hostname: 'CP-07', labels: { gone: null } });
    assert.deepEqual([v.hostname, v.hostnameSource, v.labels], ['cp-07', 'operator', { zone: 'a' }]);
    await assert.rejects(svc.updateMachine(m.id, { hostname: 'bad_name' }), /INVALID_INPUT|valid host name/);
    await assert.rejects(
      svc.updateMachine('nope', {}),
      (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
    );
    assert.equal((await svc.findMachine('cp-07'))?.id, m.id, 'found by hostname');
  });

  it('an ambiguous rule is rejected when saved, naming both rules', async () => {
    const { svc } = await setup();
    await svc.putRule({ name: 'rack-a', match: { cidr: ['10.0.0.0/24'] }, set: { role: 'worker' } });
    await assert.rejects(
      svc.putRule({ name: 'rack-b', match: { cidr: ['10.0.0.0/24'] }, set: { role: 'controller' } }),
      (e: Error & { code?: string }) =>
        e.code === 'RULE_AMBIGUOUS' && /rack-a/.test(e.message) && /rack-b/.test(e.message),
    );
    assert.deepEqual(
      (await svc.listRules()).map((r) => r.name),
      ['rack-a'],
    );
  });

  it('preview shows what an unknown MAC would get without enrolling it', async () => {
    const { p, svc } = await setup(`
rules:
  - { name: special, match: { mac: ["52:54:00:aa:00:05"] }, set: { role: controller } }
`);
    const v = await svc.preview({ mac: '52-54-00-AA-00-05' });
    assert.equal(v.machine, null);
    assert.equal(v.rule, 'special');
    assert.match(v.ipxe, /role controller/);
    assert.match(v.config.body, /"version": "3.3.0"/);
    assert.equal(p.registry.all().length, 0, 'nothing enrolled');
  });
});
