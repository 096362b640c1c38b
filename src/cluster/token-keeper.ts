/**
 * The join token's life (k8s-bootstrap.md section 6 rule 1: "one short-TTL token per node or
 * per batch, created by the seed"). The seed keeps one current token per batch: it rotates it
 * when less than `renewBeforeMs` of its life is left (default: a 2 h token renewed at 1 h), and
 * makes sure the cluster knows it, by creating its Secret `kube-system/bootstrap-token-<id>`
 * (bootstrap-tokens.md "Bootstrap Token Secret Format") with the admin kubeconfig. Before the
 * cluster exists the API is unreachable: the current token then reaches the cluster through
 * the first controller's InitConfiguration, and is found there on the next check. Expiry is the
 * cluster's job (tokencleaner deletes expired token Secrets).
 */
import type { Logger } from '../lib/log.ts';
import { type BootstrapToken, newBootstrapToken, saveToken, TOKEN_GROUPS } from './pki/index.ts';

/** Each batch token lives two hours (the kubeadm config's own short TTL). */
export const BATCH_TOKEN_TTL_MS = 2 * 3600_000;
export const RENEW_BEFORE_MS = 3600_000;
export const CHECK_EVERY_MS = 60_000;
export const TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';

/** What the keeper needs from the API server (a 404 is `false`, not an error). */
export interface TokenApi {
  secretExists(name: string): Promise<boolean>;
  createSecret(secret: TokenSecret): Promise<void>;
}

export interface TokenSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  type: typeof TOKEN_SECRET_TYPE;
  metadata: { name: string; namespace: 'kube-system' };
  stringData: Record<string, string>;
}

export interface TokenKeeperOptions {
  /** The PKI directory: the current token is `bootstrap-token.json` there (0600). */
  dir: string;
  initial: BootstrapToken;
  logger: Logger;
  now?: () => Date;
  ttlMs?: number;
  renewBeforeMs?: number;
}

export class TokenKeeper {
  private token: BootstrapToken;
  private known = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly o: TokenKeeperOptions) {
    this.token = o.initial;
    this.now = o.now ?? (() => new Date());
  }

  current(): BootstrapToken {
    return this.token;
  }

  /** True once the cluster is known to hold the current token's Secret. */
  get registered(): boolean {
    return this.known;
  }

  /** Rotates when due, then registers the current token if the cluster does not have it. */
  async check(api: TokenApi | null): Promise<void> {
    const left = this.token.expires.getTime() - this.now().getTime();
    if (left < (this.o.renewBeforeMs ?? RENEW_BEFORE_MS)) this.rotate();
    if (this.known || api === null) return;
    const name = `bootstrap-token-${this.token.id}`;
    try {
      if (!(await api.secretExists(name))) await api.createSecret(tokenSecret(this.token));
      this.known = true;
      this.o.logger.info(
        { event: 'cluster.token_registered', token: this.token.toJSON() },
        'join token in the cluster',
      );
      if (this.failing) this.o.logger.info({ event: 'cluster.token_api_back' }, 'API server reachable again');
      this.failing = false;
    } catch (err) {
      // before `kubeadm init` this is the normal case: say it once per outage
      if (!this.failing) {
        this.o.logger.info(
          { event: 'cluster.token_pending', err: (err as Error).message, token: this.token.toJSON() },
          'join token not yet registered (API server not reachable); retrying',
        );
      }
      this.failing = true;
    }
  }

  /** Checks now and then every `everyMs`, until `stop()`. */
  start(api: () => TokenApi | null, everyMs = CHECK_EVERY_MS): void {
    const tick = () => {
      this.running = this.check(api()).finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private rotate(): void {
    const token = newBootstrapToken(this.now(), this.o.ttlMs ?? BATCH_TOKEN_TTL_MS);
    saveToken(this.o.dir, token);
    this.o.logger.info(
      { event: 'cluster.token_rotated', old: this.token.toJSON(), token: token.toJSON() },
      'join token rotated',
    );
    this.token = token;
    this.known = false;
  }
}

/** bootstrap-tokens.md "Bootstrap Token Secret Format", as `kubeadm token create` writes it. */
export function tokenSecret(t: BootstrapToken): TokenSecret {
  const r = t.toRecord();
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: TOKEN_SECRET_TYPE,
    metadata: { name: `bootstrap-token-${r.id}`, namespace: 'kube-system' },
    stringData: {
      description: r.description ?? 'created by metalseed',
      'token-id': r.id,
      'token-secret': r.secret,
      expiration: r.expires,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': TOKEN_GROUPS.join(','),
    },
  };
}
