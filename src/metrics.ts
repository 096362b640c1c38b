/**
 * Prometheus metrics at /metrics. Counters that the protocol servers already keep are read at
 * scrape time (nothing is added to the packet path); boot-step durations come from the
 * timeline, HTTP requests from a response hook.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DhcpServer } from './dhcp/index.ts';
import { MACHINE_STATES } from './inventory/index.ts';
import type { NodeWatcher } from './kube/index.ts';
import type { Provisioner } from './provisioner/index.ts';
import type { TftpServer } from './tftp/index.ts';

export interface MetricSources {
  provisioner: Provisioner;
  /** The SQLite store's WAL checkpoints (inventory/checkpointer.ts). */
  checkpoints?: { ok: number; failed: number };
  dhcp?: DhcpServer;
  tftp?: TftpServer;
  nodeWatch?: NodeWatcher;
}

/** Boot steps take milliseconds (DHCP) to minutes (a slow disk install). */
const STEP_BUCKETS = [0.005, 0.02, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600];

/** A counter whose value is read from a running total at scrape time. */
function mirrored(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Record<string, string>, number][],
) {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) if (v > 0) this.inc(labels, v);
    },
  });
}

export function createMetrics(src: MetricSources): {
  registry: Registry;
  attach(app: FastifyInstance): void;
} {
  const registry = new Registry();
  const d = src.dhcp?.stats;
  mirrored(
    registry,
    'metalseed_dhcp_received_total',
    'DHCP messages received, by message type',
    ['type'],
    () => Object.entries(d?.received ?? {}).map(([type, v]) => [{ type }, v]),
  );
  mirrored(registry, 'metalseed_dhcp_sent_total', 'DHCP replies sent, by message type', ['type'], () =>
    Object.entries(d?.sent ?? {}).map(([type, v]) => [{ type }, v]),
  );
  mirrored(registry, 'metalseed_dhcp_dropped_total', 'DHCP packets dropped, by reason', ['reason'], () =>
    Object.entries(d?.dropped ?? {}).map(([reason, v]) => [{ reason }, v]),
  );
  mirrored(
    registry,
    'metalseed_dhcp_repeated_total',
    'Retransmitted DHCP requests answered with the reply already sent, by type',
    ['type'],
    () => Object.entries(d?.repeated ?? {}).map(([type, v]) => [{ type }, v]),
  );
  mirrored(
    registry,
    'metalseed_dhcp_journal_total',
    'Lease journal fdatasyncs and writes (dhcp.leaseSync after-reply), with their failures',
    ['op'],
    () => Object.entries(d?.journal ?? {}).map(([op, v]) => [{ op }, v]),
  );
  mirrored(
    registry,
    'metalseed_store_checkpoints_total',
    'SQLite WAL checkpoints run off the event loop, by outcome',
    ['outcome'],
    () => Object.entries(src.checkpoints ?? {}).map(([outcome, v]) => [{ outcome }, v]),
  );
  const t = () => src.tftp?.stats();
  mirrored(registry, 'metalseed_tftp_transfers_total', 'TFTP transfers, by outcome', ['outcome'], () =>
    Object.entries(t()?.transfers ?? {}).map(([outcome, v]) => [{ outcome }, v]),
  );
  mirrored(registry, 'metalseed_tftp_refused_total', 'TFTP requests refused, by reason', ['reason'], () =>
    Object.entries(t()?.refused ?? {}).map(([reason, v]) => [{ reason }, v]),
  );
  mirrored(registry, 'metalseed_tftp_dropped_total', 'TFTP packets dropped, by reason', ['reason'], () =>
    Object.entries(t()?.dropped ?? {}).map(([reason, v]) => [{ reason }, v]),
  );
  mirrored(registry, 'metalseed_tftp_bytes_total', 'File bytes acknowledged by TFTP clients', [], () => [
    [{}, t()?.bytes ?? 0],
  ]);
  new Gauge({
    name: 'metalseed_machines',
    help: 'Machines known to the seed, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(MACHINE_STATES.map((s) => [s, 0]));
      for (const m of src.provisioner.registry.all()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      for (const [state, v] of counts) this.set({ state }, v);
    },
  });
  const steps = new Histogram({
    name: 'metalseed_boot_step_duration_seconds',
    help: 'Duration of boot steps that have one (DHCP discover→ack, TFTP transfer), by step',
    labelNames: ['step'],
    buckets: STEP_BUCKETS,
    registers: [registry],
  });
  src.provisioner.timeline.subscribe((e) => {
    if (e.durationMs !== undefined) steps.observe({ step: e.type }, e.durationMs / 1000);
  });
  const w = src.nodeWatch;
  if (w) {
    new Gauge({
      name: 'metalseed_kube_api_up',
      help: 'Whether the node watch is connected to the API server (1) or retrying (0)',
      registers: [registry],
      collect() {
        this.set(w.state === 'up' ? 1 : 0);
      },
    });
    mirrored(registry, 'metalseed_kube_watch_failures_total', 'Failed node list/watch attempts', [], () => [
      [{}, w.stats.failures],
    ]);
  }
  const http = new Counter({
    name: 'metalseed_http_requests_total',
    help: 'HTTP requests, by route and status code',
    labelNames: ['route', 'code'],
    registers: [registry],
  });
  return {
    registry,
    attach(app) {
      app.addHook('onResponse', async (req, reply) => {
        http.inc({ route: req.routeOptions.url ?? 'unmatched', code: String(reply.statusCode) });
      });
      app.get('/metrics', async (_req, reply) =>
        reply.type(registry.contentType).send(await registry.metrics()),
      );
    },
  };
}
