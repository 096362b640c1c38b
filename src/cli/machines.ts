/** `metalseed machines list|show|approve|set|delete`. Every ID argument also accepts any REF. */
import { Command } from 'commander';
import type { Machine, MachinePatch } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { type ApiClient, context, withApiOptions } from './client.ts';
import { byKeys, fields, pairs, print, table } from './output.ts';

export function machinesCommand(): Command {
  const cmd = withApiOptions(new Command('machines').description('list and manage machines (via the API)'));
  cmd
    .command('list')
    .description('every known machine')
    .action(async (_o, c: Command) => {
      const { api, output } = context(c);
      const list = (await api.request<Machine[]>('GET', '/machines')).sort(
        byKeys(
          (m) => m.hostname,
          (m) => m.id,
        ),
      );
      print(output, list, () => machineTable(list));
    });
  cmd
    .command('show <ref>')
    .description('one machine, by id, MAC, UUID, serial or hostname')
    .action(async (ref: string, _o, c: Command) => {
      const { api, output } = context(c);
      const m = await resolve(api, ref);
      print(output, m, () => machineFields(m));
    });
  cmd
    .command('approve <id>')
    .description('let a pending machine boot')
    .action(async (ref: string, _o, c: Command) => {
      const { api, output } = context(c);
      const m = await api.request<Machine>('POST', `/machines/${enc((await resolve(api, ref)).id)}/approve`);
      print(output, m, () => `machine ${m.id} (${m.hostname}) approved\n`);
    });
  cmd
    .command('set <id>')
    .description('change role, hostname, profile or labels')
    .option('--role <role>', 'controller, worker or a profile name')
    .option('--hostname <name>', 'new hostname (kept across re-enrolment)')
    .option('--profile <name>', 'boot this profile instead of the role profile')
    .option('--no-profile', 'back to the role profile')
    .option('--label <key=value>', 'set a label (repeatable)', collect, [])
    .option('--unlabel <key>', 'remove a label (repeatable)', collect, [])
    .action(async (ref: string, o: SetFlags, c: Command) => {
      const { api, output } = context(c);
      const patch = toPatch(o);
      const m = await api.request<Machine>('PATCH', `/machines/${enc((await resolve(api, ref)).id)}`, patch);
      print(output, m, () => machineFields(m));
    });
  cmd
    .command('delete <id>')
    .description('forget a machine (it re-enrols when it boots again)')
    .action(async (ref: string, _o, c: Command) => {
      const { api, output } = context(c);
      const m = await resolve(api, ref);
      await api.request('DELETE', `/machines/${enc(m.id)}`);
      print(output, { deleted: m.id }, () => `machine ${m.id} (${m.hostname}) deleted\n`);
    });
  return cmd;
}

export function resolve(api: ApiClient, ref: string): Promise<Machine> {
  return api.request<Machine>('GET', `/machines/${enc(ref)}`);
}

const enc = encodeURIComponent;

interface SetFlags {
  role?: string;
  hostname?: string;
  profile?: string | false;
  label: string[];
  unlabel: string[];
}

function collect(v: string, all: string[]): string[] {
  return [...all, v];
}

function toPatch(o: SetFlags): MachinePatch {
  const labels: Record<string, string | null> = {};
  for (const kv of o.label) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new MetalseedError('INVALID_INPUT', `--label ${kv}: expected key=value`);
    labels[kv.slice(0, at)] = kv.slice(at + 1);
  }
  for (const k of o.unlabel) labels[k] = null;
  const patch: MachinePatch = {
    ...(o.role !== undefined ? { role: o.role } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    ...(o.profile !== undefined ? { profile: o.profile === false ? null : o.profile } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
  if (Object.keys(patch).length === 0) {
    throw new MetalseedError(
      'INVALID_INPUT',
      'nothing to set',
      'give --role, --hostname, --profile, --no-profile, --label or --unlabel',
    );
  }
  return patch;
}

function machineTable(list: Machine[]): string {
  return table(
    ['ID', 'HOSTNAME', 'ROLE', 'PROFILE', 'STATE', 'MAC', 'ADDRESS', 'LAST SEEN'],
    list.map((m) => [
      m.id,
      m.hostname,
      m.role,
      m.profile ?? '-',
      m.state,
      m.macs[0] ?? '-',
      m.addresses[0] ?? '-',
      m.lastSeen,
    ]),
  );
}

function machineFields(m: Machine): string {
  return fields([
    ['id', m.id],
    ['hostname', `${m.hostname} (${m.hostnameSource})`],
    ['role', m.role],
    ['profile', m.profile ?? '- (role profile)'],
    ['state', m.state],
    ['macs', m.macs.join(', ') || '-'],
    ['uuid', m.uuid ?? '-'],
    ['serial', m.serial ?? '-'],
    ['firmware', [m.firmware, m.arch].filter(Boolean).join(' / ') || '-'],
    ['addresses', m.addresses.join(', ') || '-'],
    ['labels', pairs(m.labels)],
    ['first seen', m.firstSeen],
    ['last seen', m.lastSeen],
    ['version', String(m.version)],
  ]);
}
