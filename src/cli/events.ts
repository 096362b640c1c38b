/**
 * `metalseed events [--follow] [--machine REF]`: the boot timeline as readable lines, one per
 * step: time, machine, event type, the step's key details. History first (from each machine's
 * timeline), then with --follow the live stream, de-duplicated by sequence number.
 */
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { Machine, TimelineEvent } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { readSse } from '../lib/sse.ts';
import { type ApiClient, context, withApiOptions } from './client.ts';
import { resolve } from './machines.ts';
import { type Format, sortKeys } from './output.ts';

/** The API's largest timeline page. */
const PAGE = 1000;
/** Details shown first, in this order; other scalar data follows sorted by key. */
const KEY_DETAILS = ['ip', 'address', 'file', 'bytes', 'profile', 'role', 'state', 'error'];
/** Widths that fit "hostname (52:54:00:00:00:01)" and "http.ignition" on an 100-column line. */
const WHO_WIDTH = 30;
const TYPE_WIDTH = 14;

export function eventsCommand(): Command {
  return withApiOptions(new Command('events'))
    .description('boot timeline of every machine (or one); --follow streams new events')
    .option('-f, --follow', 'keep streaming new events until interrupted')
    .option('--machine <ref>', 'only this machine (id, MAC, UUID, serial or hostname)')
    .action(async (o: { follow?: boolean; machine?: string }, c: Command) => {
      const { api, output } = context(c);
      const only = o.machine !== undefined ? await resolve(api, o.machine) : undefined;
      const names = new Names(api, only ? [only] : await api.request<Machine[]>('GET', '/machines'));
      // open the stream before reading history, so nothing that happens in between is lost
      const stream = o.follow
        ? await api.stream(`/events${only ? `?machine=${encodeURIComponent(only.id)}` : ''}`)
        : null;
      let last = 0;
      for (const e of await history(api, only ? [only] : names.known())) {
        write(output, e, await names.of(e));
        last = e.seq;
      }
      if (!stream) return;
      for await (const msg of readSse(stream)) {
        const e = JSON.parse(msg.data) as TimelineEvent;
        if (e.seq <= last) continue;
        write(output, e, await names.of(e));
        last = e.seq;
      }
      throw new MetalseedError(
        'UNAVAILABLE',
        'the seed closed the event stream',
        'it stopped or restarted; run again',
      );
    });
}

/** Every recorded event of these machines, in sequence order. */
async function history(api: ApiClient, machines: Machine[]): Promise<TimelineEvent[]> {
  const all: TimelineEvent[] = [];
  for (const m of machines) {
    for (let after = 0; ; ) {
      const page = await api.request<TimelineEvent[]>(
        'GET',
        `/machines/${encodeURIComponent(m.id)}/timeline?afterSeq=${after}&limit=${PAGE}`,
      );
      all.push(...page);
      if (page.length < PAGE) break;
      after = page.at(-1)!.seq;
    }
  }
  return all.sort((a, b) => a.seq - b.seq);
}

/** Hostnames by machine id; a machine first seen while following is looked up once. */
class Names {
  private readonly byId = new Map<string, Machine | null>();
  constructor(
    private readonly api: ApiClient,
    machines: Machine[],
  ) {
    for (const m of machines) this.byId.set(m.id, m);
  }
  known(): Machine[] {
    return [...this.byId.values()].filter((m): m is Machine => m !== null);
  }
  async of(e: TimelineEvent): Promise<Machine | null> {
    if (!this.byId.has(e.machineId)) {
      this.byId.set(e.machineId, await resolve(this.api, e.machineId).catch(() => null));
    }
    return this.byId.get(e.machineId) ?? null;
  }
}

/** JSON is one object per line (NDJSON) and YAML one document per event, so both stream. */
function write(format: Format, e: TimelineEvent, m: Machine | null): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(sortKeys(e))}\n`);
  else if (format === 'yaml') process.stdout.write(`---\n${stringify(sortKeys(e), { lineWidth: 0 })}`);
  else process.stdout.write(`${eventLine(e, m)}\n`);
}

export function eventLine(e: TimelineEvent, m: Machine | null): string {
  const mac = e.mac ?? m?.macs[0];
  const who = m ? (mac ? `${m.hostname} (${mac})` : m.hostname) : (mac ?? e.machineId);
  return [e.time, who.padEnd(WHO_WIDTH), e.type.padEnd(TYPE_WIDTH), details(e)].join('  ').trimEnd();
}

function details(e: TimelineEvent): string {
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  const first = KEY_DETAILS.filter((k) => scalar(e.data[k]));
  const rest = Object.keys(e.data)
    .filter((k) => !KEY_DETAILS.includes(k) && scalar(e.data[k]))
    .sort();
  const parts = [...first, ...rest].map((k) => `${k === 'address' ? 'ip' : k}=${String(e.data[k])}`);
  if (e.durationMs !== undefined) parts.push(`ms=${e.durationMs}`);
  return parts.join(' ');
}
