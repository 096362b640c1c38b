/**
 * The composition root: the only module that opens sockets, reads paths and the clock. It
 * builds the config, the store, the provisioner and the servers, and tears them down on a
 * signal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadOrCreateToken, registerApi } from './api/index.ts';
import { findSysext } from './assets/index.ts';
import { loadOrCreateSeedTls, openClusterPki } from './cluster/index.ts';
import type { Config } from './config/index.ts';
import { buildHttp, buildSecretsHttp } from './http/index.ts';
import { checkpointFailureLog, openStore, WorkerStore } from './inventory/index.ts';
import { MetalseedError } from './lib/errors.ts';
import { interfaceAddress } from './lib/interfaces.ts';
import type { Logger } from './lib/log.ts';
import { cachedFor } from './lib/memo.ts';
import { native } from './lib/native.ts';
import { ipToString, prefixToMask } from './lib/net.ts';
import { createMetrics } from './metrics.ts';
import { RaAdvertiser } from './ndp/index.ts';
import { Provisioner, ProvisionerService, SecretGate } from './provisioner/index.ts';
import { seedCatalog } from './seed-catalog.ts';
import { type NetworkFacts, startDhcp } from './serve-dhcp.ts';
import { startNodeWatch } from './serve-nodes.ts';
import { startTftp } from './serve-tftp.ts';
import { startTokenKeeper } from './serve-tokens.ts';

/**
 * Pending connections the machine-facing listener queues (listen(2); the kernel caps it at
 * net.core.somaxconn, 4096 by default since Linux 5.4). Node's default, 511, overflows when a
 * rack's iPXE clients connect at once while the loop is busy: each dropped SYN costs that
 * machine a 1 s (then 3 s) TCP retransmission.
 */
const HTTP_BACKLOG = 4096;

/**
 * How stale the seed's view of the installed Kubernetes sysext may be. Reading it per /ignition
 * (a file read and a stat, an exception when absent) was 15 % of a request's CPU; an asset
 * installed by `metalseed assets` reaches the next configs within this time.
 */
const SYSEXT_RECHECK_MS = 5000;

export interface Seed {
  close(): Promise<void>;
  logger: Logger;
}

export function createLogger(config: Config): Logger {
  if (config.log.format === 'pretty') {
    return pino({
      level: config.log.level,
      transport: { target: 'pino-pretty', options: { destination: 1 } },
    });
  }
  // Asynchronous writes: a synchronous write(2) per line cost ~110 µs of the event loop, +31–36 %
  // CPU per DHCP exchange at `info` (docs/benchmarks.md). Lines still leave at once, in order;
  // what is buffered at exit is written synchronously then.
  const dest = pino.destination({ dest: 1, sync: false });
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // stdout already gone (the reader exited): nothing left to save the lines to
    }
  });
  return pino({ level: config.log.level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** Network facts the config leaves to the host: advertise address, netmask, default range. */
function resolveNetwork(config: Config): NetworkFacts {
  const iface = config.interface ? interfaceAddress(config.interface) : null;
  const advertise = config.advertise ?? iface?.address ?? null;
  if (advertise === null) {
    throw new MetalseedError(
      'CONFIG_INVALID',
      'no "interface" and no "advertise" address',
      'set "interface" (e.g. enp0s8)',
    );
  }
  const netmask = config.dhcp.netmask ?? iface?.netmask ?? prefixToMask(24);
  let range = config.dhcp.range;
  if (!range && iface) {
    const net = (iface.address & netmask) >>> 0;
    const broadcast = (net | (~netmask >>> 0)) >>> 0;
    const start = Math.min(net + 100, broadcast - 1);
    const end = Math.min(net + 199, broadcast - 1);
    range = start <= end && start > net ? { start, end } : null;
  }
  return { advertise, netmask, range };
}

/** Router Advertisements on the provisioning link (see ndp/advertiser.ts for why). */
function startRa(config: Config, logger: Logger): RaAdvertiser | null {
  const on = config.ra.enabled === 'auto' ? config.dhcp.mode === 'authoritative' : config.ra.enabled;
  if (!on || !config.interface) return null;
  const mac = os.networkInterfaces()[config.interface]?.find((a) => a.mac !== '00:00:00:00:00:00')?.mac;
  const send = native().sendIcmp6Multicast;
  return new RaAdvertiser({
    ifname: config.interface,
    send,
    logger,
    now: Date.now,
    ...(mac ? { sourceMac: mac } : {}),
  });
}

export async function startSeed(config: Config, logger: Logger): Promise<Seed> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const net = resolveNetwork(config);
    const tftpRoot = path.resolve(config.tftp.root);
    const store = await openStore(config.dataDir); // on its own thread or not (open-store.ts)
    closers.push(() => store.close());
    const checkpointer = store.checkpointer;
    if (checkpointer) checkpointer.onError = checkpointFailureLog(logger, () => checkpointer.counts.failed);
    await seedCatalog(store, config);
    const pki = await openClusterPki(config); // first start creates the cluster's CAs and token
    if (pki.written.length > 0)
      logger.info(
        { event: 'cluster.init', created: pki.written, caCertHash: pki.pki.caCertHash },
        'cluster state created',
      );
    const advertise = ipToString(net.advertise);
    const seedTls = await loadOrCreateSeedTls(pki.dir, advertise, new Date());
    let known: Provisioner | null = null; // the keeper asks it for the endpoint once it exists
    const tokens = startTokenKeeper(config, pki, logger.child({ component: 'tokens' }), () =>
      known ? known.knownEndpoint() : null,
    );
    closers.push(() => tokens.close());
    const gate = new SecretGate(Date.now);
    if (config.cluster.armSeconds > 0) {
      const until = gate.arm(config.cluster.armSeconds);
      logger.warn(
        { event: 'secrets.armed', role: 'controller', until },
        'controller enrolment armed (cluster.arm)',
      );
    }
    const assetsDir = path.join(config.dataDir, 'assets');
    const seedUrl = `http://${advertise}:${config.http.port}`;
    const ra = startRa(config, logger);
    if (ra) closers.push(() => ra.close());
    const provisioner = await Provisioner.create({
      config,
      advertise: net.advertise,
      store,
      tftpExists: (f) => fs.existsSync(path.join(tftpRoot, f)),
      logger,
      ...(ra ? { onIpxeDhcp: () => ra.poke() } : {}),
      cluster: {
        spec: config.cluster,
        identity: pki.pki,
        caCertHash: pki.pki.caCertHash,
        bootstrapToken: () => tokens.current(),
        seedCaPem: seedTls.caPem,
        secretsBaseUrl: config.http.tlsPort > 0 ? `https://${advertise}:${config.http.tlsPort}` : null,
        // every worker's /ignition asks; the disk is read again at most every SYSEXT_RECHECK_MS
        sysext: cachedFor(SYSEXT_RECHECK_MS, () => {
          const s = findSysext(assetsDir, config.cluster.kubernetesVersion);
          return s ? { url: `${seedUrl}/assets/${s.urlPath}`, sha256: s.sha256 } : undefined;
        }),
        gate,
      },
    });
    known = provisioner;
    closers.push(() => provisioner.flush());
    const nodeWatch = startNodeWatch(config, pki, provisioner, logger);
    if (nodeWatch) closers.push(() => nodeWatch.close());

    const dhcp = config.dhcp.mode !== 'off' ? await startDhcp(config, net, provisioner, logger) : undefined;
    if (dhcp) closers.push(dhcp.close);
    const tftp = config.tftp.enabled ? await startTftp(config, tftpRoot, provisioner, logger) : undefined;
    if (tftp) closers.push(tftp.close);

    const metrics = createMetrics({
      provisioner,
      ...(store.checkpointer ? { checkpoints: store.checkpointer.counts } : {}),
      ...(dhcp ? { dhcp: dhcp.server } : {}),
      ...(tftp ? { tftp: tftp.server } : {}),
      ...(nodeWatch ? { nodeWatch: nodeWatch.watcher } : {}),
    });
    const { check } = loadOrCreateToken(config.dataDir);
    const service = new ProvisionerService(provisioner);
    const api = (app: FastifyInstance) =>
      registerApi(app, { service, token: check, logger: logger.child({ component: 'api' }) });
    const http = buildHttp({ provisioner, logger, assetsDir, extensions: [metrics.attach, api] });
    await http.listen({ port: config.http.port, host: config.http.address, backlog: HTTP_BACKLOG });
    closers.push(() => http.close());
    if (config.http.tlsPort > 0) {
      const secrets = buildSecretsHttp({ provisioner, tls: seedTls });
      await secrets.listen({ port: config.http.tlsPort, host: config.http.address });
      closers.push(() => secrets.close());
    }

    logger.info(
      {
        event: 'seed.ready',
        interface: config.interface,
        advertise: ipToString(net.advertise),
        dhcp: config.dhcp.mode,
        range: net.range ? `${ipToString(net.range.start)}-${ipToString(net.range.end)}` : null,
        tftp: config.tftp.enabled ? `${config.tftp.port} ${tftpRoot}` : 'off',
        http: provisioner.seedUrl,
        secrets: config.http.tlsPort > 0 ? `https://${advertise}:${config.http.tlsPort}` : 'off',
        dataDir: config.dataDir,
        store: store instanceof WorkerStore ? 'own thread' : 'event loop',
      },
      'seed ready',
    );
    return { close, logger };
  } catch (err) {
    await close();
    throw err;
  }
}
