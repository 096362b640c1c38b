/** `metalseed rules …`, `metalseed profiles …` and `metalseed preview`. */
import fs from 'node:fs';
import { Command } from 'commander';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { Preview, ProfileSpec, Rule } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { type ApiClient, ApiError, context, withApiOptions } from './client.ts';
import { byKeys, fields, pairs, print, table } from './output.ts';

interface Kind<T> {
  plural: 'rules' | 'profiles';
  singular: string;
  render: (list: T[]) => string;
}

const RULES: Kind<Rule> = { plural: 'rules', singular: 'rule', render: ruleTable };
const PROFILES: Kind<ProfileSpec> = { plural: 'profiles', singular: 'profile', render: profileTable };

export const rulesCommand = () => catalogCommand(RULES, 'rules that assign role, profile and labels');
export const profilesCommand = () => catalogCommand(PROFILES, 'what machines boot and which config they get');

function catalogCommand<T extends { name: string }>(kind: Kind<T>, about: string): Command {
  const cmd = withApiOptions(new Command(kind.plural).description(`${about} (via the API)`));
  cmd.command('list').action(async (_o, c: Command) => {
    const { api, output } = context(c);
    const list = (await api.request<T[]>('GET', `/${kind.plural}`)).sort(byKeys((x) => x.name));
    print(output, list, () => kind.render(list));
  });
  cmd
    .command('apply <file>')
    .description(`create or replace ${kind.plural} from a YAML or JSON file (one ${kind.singular} or a list)`)
    .action(async (file: string, _o, c: Command) => {
      const { api, output } = context(c);
      // table lines as each item lands, so a failure halfway shows what was applied before it
      const done = (x: T) =>
        output === 'table' && process.stdout.write(`${kind.singular} ${x.name} applied\n`);
      const applied = await apply<T>(api, kind, file, done);
      if (output !== 'table') print(output, applied, () => '');
    });
  cmd.command('delete <name>').action(async (name: string, _o, c: Command) => {
    const { api, output } = context(c);
    await api.request('DELETE', `/${kind.plural}/${encodeURIComponent(name)}`);
    print(output, { deleted: name }, () => `${kind.singular} ${name} deleted\n`);
  });
  return cmd;
}

/**
 * PUTs each item in file order. There is no batch endpoint, so a list is applied one by one:
 * items before a rejected one stay applied, and the error names the rejected item.
 */
async function apply<T extends { name: string }>(
  api: ApiClient,
  kind: Kind<T>,
  file: string,
  done: (x: T) => void,
): Promise<T[]> {
  const applied: T[] = [];
  for (const item of readItems(file, kind.singular)) {
    try {
      const stored = await api.request<T>('PUT', `/${kind.plural}/${encodeURIComponent(item.name)}`, item);
      applied.push(stored);
      done(stored);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      throw new ApiError(err.wireCode, `${file}: ${kind.singular} "${item.name}": ${err.message}`, err.hint);
    }
  }
  return applied.sort(byKeys((x) => x.name));
}

/** Items of a YAML (or JSON, a subset of YAML) file; several `---` documents are allowed too. */
function readItems(file: string, singular: string): { name: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetalseedError('CONFIG_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const items: unknown[] = [];
  const lines = new LineCounter();
  for (const doc of parseAllDocuments(text, { prettyErrors: false, lineCounter: lines })) {
    const bad = doc.errors[0];
    if (bad) {
      const at = lines.linePos(bad.pos[0]);
      throw new MetalseedError('CONFIG_INVALID', `${file}:${at.line}:${at.col}: ${bad.message}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null) items.push(...(Array.isArray(value) ? value : [value]));
  }
  if (items.length === 0) throw new MetalseedError('INVALID_INPUT', `${file}: no ${singular} in the file`);
  return items.map((x, i) => {
    if (typeof x !== 'object' || x === null || typeof (x as { name?: unknown }).name !== 'string') {
      throw new MetalseedError('INVALID_INPUT', `${file}: item ${i + 1} is not a ${singular} with a "name"`);
    }
    return x as { name: string };
  });
}

function ruleTable(list: Rule[]): string {
  return table(
    ['NAME', 'PRIORITY', 'MATCH', 'SET'],
    list.map((r) => [r.name, String(r.priority ?? 0), selector(r.match), selector(r.set)]),
  );
}

/** `arch=x86_64 labels.rack=r1 mac=a|b`: every field in key order, lists joined by `|` (OR). */
function selector(o: object): string {
  const parts = Object.entries(o)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => {
      if (Array.isArray(v)) return `${k}=${v.join('|')}`;
      if (v !== null && typeof v === 'object')
        return pairs(v as Record<string, unknown>, `${k}.`).replaceAll(',', ' ');
      return `${k}=${String(v)}`;
    });
  return parts.join(' ') || '*';
}

function profileTable(list: ProfileSpec[]): string {
  return table(
    ['NAME', 'KERNEL', 'INITRDS', 'EFI', 'CONFIG'],
    list.map((p) => [
      p.name,
      p.kernel,
      p.initrds.join(',') || '-',
      p.efiBinary,
      p.config.kind === 'template' ? `template/${p.config.format}` : p.config.kind,
    ]),
  );
}

export function previewCommand(): Command {
  return withApiOptions(new Command('preview'))
    .description('what a machine with this MAC would boot, without recording anything')
    .requiredOption('--mac <mac>', 'MAC address')
    .option('--uuid <uuid>', 'SMBIOS UUID')
    .option(
      '--arch <arch>',
      'client architecture, as its DHCP option 93 name (X86_BIOS, EFI_BC, EFI_ARM64 ...)',
    )
    .action(async (o: { mac: string; uuid?: string; arch?: string }, c: Command) => {
      const { api, output } = context(c);
      const q = new URLSearchParams({
        mac: o.mac,
        ...(o.uuid ? { uuid: o.uuid } : {}),
        ...(o.arch ? { arch: o.arch } : {}),
      });
      const p = await api.request<Preview>('GET', `/preview?${q}`);
      print(output, p, () => previewText(p));
    });
}

function previewText(p: Preview): string {
  const head = fields([
    [
      'machine',
      p.machine ? `${p.machine.id} (${p.machine.hostname}, ${p.machine.role})` : '- (unknown: would enrol)',
    ],
    ['rule', p.rule ?? '-'],
    ['profile', p.profile],
  ]);
  const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  return `${head}--- ipxe\n${nl(p.ipxe)}--- config (${p.config.contentType})\n${nl(p.config.body)}`;
}
