/**
 * kubeadm bootstrap tokens (kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens):
 * `[a-z0-9]{6}.[a-z0-9]{16}`, a public token id and a secret. The holder authenticates as
 * `system:bootstrap:<id>` and can sign the `cluster-info` ConfigMap (JWS), so the secret is a
 * credential: it never appears in logs, `toString()`, `toJSON()` or `util.inspect`; only
 * `value()` and `toKubeadm()` hand it out, for the one config that must carry it.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { MetalseedError } from '../../lib/errors.ts';

export const BOOTSTRAP_TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Largest multiple of 36 below 256: bytes at or above it are redrawn, so no character is favoured. */
const UNBIASED_LIMIT = 252;
const HOUR_MS = 60 * 60 * 1000;
/** kubeadm's default token TTL (`kubeadm token create --ttl`, 24h0m0s). */
export const DEFAULT_TOKEN_TTL_MS = 24 * HOUR_MS;
/** bootstrap-tokens.md "Token Usages": sign cluster-info and authenticate as a bootstrapper. */
export const TOKEN_USAGES = ['signing', 'authentication'] as const;
/** The group kubeadm binds to node bootstrap and CSR auto-approval (kubeadm-join.md). */
export const TOKEN_GROUPS = ['system:bootstrappers:kubeadm:default-node-token'] as const;

/** The stored form; `secret` makes the file that holds it a 0600 secret. */
export interface BootstrapTokenRecord {
  id: string;
  secret: string;
  /** RFC 3339 UTC. */
  expires: string;
  description?: string;
}

/** The v1beta4 `bootstrapTokens[]` entry; `expires` (absolute) rather than `ttl`, which would count from `kubeadm init`. */
export interface KubeadmBootstrapToken {
  token: string;
  description?: string;
  expires: string;
  usages: string[];
  groups: string[];
}

export class BootstrapToken {
  readonly #secret: string;

  private constructor(
    readonly id: string,
    secret: string,
    readonly expires: Date,
    readonly description?: string,
  ) {
    this.#secret = secret;
  }

  static generate(opts: { now: Date; ttlMs?: number; description?: string }): BootstrapToken {
    const expires = new Date(opts.now.getTime() + (opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS));
    return new BootstrapToken(randomChars(6), randomChars(16), truncateToSecond(expires), opts.description);
  }

  static fromRecord(r: BootstrapTokenRecord, what: string): BootstrapToken {
    const expires = new Date(r.expires);
    if (!BOOTSTRAP_TOKEN_RE.test(`${r.id}.${r.secret}`) || Number.isNaN(expires.getTime())) {
      throw new MetalseedError('CONFIG_INVALID', `${what} does not hold a valid bootstrap token`);
    }
    return new BootstrapToken(r.id, r.secret, expires, r.description);
  }

  /** The full `<id>.<secret>`: only for the kubeadm config that must carry it. */
  value(): string {
    return `${this.id}.${this.#secret}`;
  }

  isExpired(now: Date): boolean {
    return now.getTime() >= this.expires.getTime();
  }

  toRecord(): BootstrapTokenRecord {
    return {
      id: this.id,
      secret: this.#secret,
      expires: this.expires.toISOString().replace('.000Z', 'Z'),
      ...(this.description !== undefined ? { description: this.description } : {}),
    };
  }

  toKubeadm(): KubeadmBootstrapToken {
    const r = this.toRecord();
    return {
      token: this.value(),
      ...(r.description !== undefined ? { description: r.description } : {}),
      expires: r.expires,
      usages: [...TOKEN_USAGES],
      groups: [...TOKEN_GROUPS],
    };
  }

  /** The id alone is public (it names the Secret `bootstrap-token-<id>`); the secret is masked. */
  toString(): string {
    return `${this.id}.${'*'.repeat(16)}`;
  }

  toJSON(): { id: string; expires: string } {
    return { id: this.id, expires: this.expires.toISOString() };
  }

  [inspect.custom](): string {
    return `BootstrapToken(${this.toString()}, expires ${this.expires.toISOString()})`;
  }
}

function randomChars(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n)) {
      if (b < UNBIASED_LIMIT && out.length < n) out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out;
}

function truncateToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
