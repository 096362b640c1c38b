/**
 * Follows the cluster's Node objects with the API's list-then-watch protocol
 * (kubernetes.io/docs/reference/using-api/api-concepts, "Efficient detection of changes"):
 * LIST gives every Node and a resourceVersion; WATCH from that version streams ADDED,
 * MODIFIED, DELETED and BOOKMARK events. A watch whose version was compacted gets
 * 410 Gone (as the HTTP status or as an ERROR event): the watcher lists again. A dropped
 * connection resumes the watch from the last version seen, after an exponential backoff.
 *
 * It reports facts and decides nothing. An outage is logged once when it starts (and again
 * only if the kind of failure changes), once when it ends; single retries are debug lines.
 */
import type { Logger } from '../lib/log.ts';
import { query } from './client.ts';
import { GONE, KubeApiError } from './errors.ts';
import { type NodeFact, nodeFact } from './node-facts.ts';
import { sleep } from './sleep.ts';
import type { List, Node, WatchEvent } from './types.ts';

export const NODES_PATH = '/api/v1/nodes';
/** First retry after a failure; doubles per failure up to BACKOFF_MAX_MS (client-go's reflector backs off 800 ms → 30 s). */
export const BACKOFF_INITIAL_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
/**
 * The server ends each watch after this long; a fresh watch from the same version costs one
 * request. client-go's reflector asks for 5–10 minutes (minWatchTimeout).
 */
export const WATCH_TIMEOUT_S = 300;
/** A watch that ends cleanly sooner than this did not really watch; the next one waits a little. */
const QUICK_END_MS = 1_000;
/** Silence longer than this is a dead connection: the server ends the watch or bookmarks long before. */
const WATCH_IDLE_SLACK_MS = 60_000;

/** The part of KubeClient the watcher uses, so tests can drive it without TLS. */
export interface NodeSource {
  readonly server: string;
  get<T>(path: string, o?: { signal?: AbortSignal }): Promise<T>;
  watch<T>(
    path: string,
    onEvent: (e: WatchEvent<T>) => void,
    o: { signal?: AbortSignal; idleMs: number },
  ): Promise<void>;
}

export interface NodeListener {
  /** After every (re)list: all Nodes that exist now (Nodes missing from it are gone). */
  onSync(nodes: NodeFact[]): void;
  onNode(node: NodeFact): void;
  onDeleted(node: NodeFact): void;
}

export interface NodeWatcherOptions {
  source: NodeSource;
  listener: NodeListener;
  logger: Logger;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  watchTimeoutS?: number;
  /** [0, 1): spreads retries of several seeds; tests pass a constant. */
  random?: () => number;
  now?: () => number;
}

export type WatchState = 'starting' | 'up' | 'down' | 'stopped';

export class NodeWatcher {
  state: WatchState = 'starting';
  readonly stats = { lists: 0, watches: 0, events: 0, failures: 0, relists: 0 };
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private version: string | null = null;
  private outage: { since: number; attempts: number; cause: string } | null = null;

  constructor(private readonly o: NodeWatcherOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.state = 'stopped';
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let quickEnds = 0;
    while (!this.signal.aborted) {
      try {
        if (this.version === null) await this.list();
        const started = this.now();
        await this.watchOnce();
        failures = 0;
        // a watch the server ends at once (a proxy cutting streams) must not become a busy loop
        if (this.now() - started < QUICK_END_MS) await this.sleep(this.backoff(++quickEnds));
        else quickEnds = 0;
      } catch (err) {
        if (this.signal.aborted) break;
        if (err instanceof KubeApiError && err.status === GONE) {
          // the version we hold was compacted: start over from a fresh list, at once
          this.stats.relists++;
          this.o.logger.info(
            { event: 'kube.relist', server: this.o.source.server },
            'node watch expired; listing again',
          );
          this.version = null;
          continue;
        }
        failures++;
        this.stats.failures++;
        this.down(err);
        await this.sleep(this.backoff(failures));
      }
    }
  }

  private async list(): Promise<void> {
    const list = await this.o.source.get<List<Node>>(NODES_PATH, { signal: this.signal });
    this.stats.lists++;
    this.version = list.metadata?.resourceVersion ?? '';
    this.up();
    this.o.listener.onSync((list.items ?? []).map(nodeFact));
  }

  private async watchOnce(): Promise<void> {
    const timeoutS = this.o.watchTimeoutS ?? WATCH_TIMEOUT_S;
    const path = `${NODES_PATH}${query({
      watch: true,
      resourceVersion: this.version ?? undefined,
      allowWatchBookmarks: true,
      timeoutSeconds: timeoutS,
    })}`;
    this.stats.watches++;
    let first = true;
    await this.o.source.watch<Node>(
      path,
      (e) => {
        if (first) {
          first = false;
          this.up();
        }
        this.onEvent(e);
      },
      { signal: this.signal, idleMs: timeoutS * 1000 + WATCH_IDLE_SLACK_MS },
    );
    this.up(); // a clean end (the server's timeoutSeconds) also proves the API is there
  }

  private onEvent(e: WatchEvent<Node>): void {
    const node = e.object as Node;
    const rv = node.metadata?.resourceVersion;
    if (rv) this.version = rv;
    this.stats.events++;
    if (e.type === 'ADDED' || e.type === 'MODIFIED') this.o.listener.onNode(nodeFact(node));
    else if (e.type === 'DELETED') this.o.listener.onDeleted(nodeFact(node));
    // BOOKMARK carries only the version (api-concepts "Watch bookmarks")
  }

  private up(): void {
    if (this.outage) {
      const downMs = this.now() - this.outage.since;
      this.o.logger.info(
        { event: 'kube.reconnected', server: this.o.source.server, downMs, attempts: this.outage.attempts },
        'API server reachable again',
      );
      this.outage = null;
    }
    this.state = 'up';
  }

  private down(err: unknown): void {
    const e = err as { code?: string; message?: string; hint?: string };
    // one outage, one line: a new line only when the kind of failure changes (unreachable →
    // unauthorized), not when the errno does (ECONNRESET → ECONNREFUSED as a server restarts)
    const causeKey = e.code ?? 'ERROR';
    if (!this.outage || this.outage.cause !== causeKey) {
      this.o.logger.warn(
        {
          event: 'kube.unreachable',
          server: this.o.source.server,
          err: e.message ?? String(err),
          ...(e.hint ? { hint: e.hint } : {}),
        },
        'node watch: API server not usable; retrying with backoff',
      );
      this.outage = {
        since: this.outage?.since ?? this.now(),
        attempts: this.outage?.attempts ?? 0,
        cause: causeKey,
      };
    } else {
      this.o.logger.debug(
        { event: 'kube.retry', err: e.message, attempt: this.outage.attempts },
        'node watch retry',
      );
    }
    this.outage.attempts++;
    this.state = 'down';
  }

  /** Full jitter over an exponential ceiling (AWS "Exponential Backoff And Jitter"), at least half of it. */
  private backoff(failures: number): number {
    const initial = this.o.backoffInitialMs ?? BACKOFF_INITIAL_MS;
    const ceiling = Math.min(
      this.o.backoffMaxMs ?? BACKOFF_MAX_MS,
      initial * 2 ** Math.min(failures - 1, 20),
    );
    return ceiling / 2 + (ceiling / 2) * (this.o.random ?? Math.random)();
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.signal);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
