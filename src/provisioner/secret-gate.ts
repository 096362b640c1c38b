/**
 * Who may fetch a controller's secret stage, and when (k8s-bootstrap.md section 6 rule 3):
 * only while controller enrolment is armed (`metalseed arm`, or `cluster.arm` at start), once,
 * from the address that fetched the stage-1 config, with the bearer token that config carried.
 *
 * A token is 256 random bits; only its SHA-256 is kept. Grants live in memory: a restarted
 * seed has none, and a controller that had not fetched its secrets yet simply boots again.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type Refusal = 'unarmed' | 'no-grant' | 'bad-token' | 'used' | 'wrong-address' | 'expired';

/** Refusals that mean someone other than the machine is trying: an alarm, not a mistake. */
export const ALARMS: ReadonlySet<Refusal> = new Set(['bad-token', 'used', 'wrong-address']);

interface Grant {
  digest: Buffer;
  address: string;
  expiresAt: number;
  used: boolean;
}

export type Redeemed = { ok: true } | { ok: false; reason: Refusal };

export class SecretGate {
  private armedUntil = 0;
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly now: () => number) {}

  arm(seconds: number): Date {
    this.armedUntil = this.now() + seconds * 1000;
    return new Date(this.armedUntil);
  }

  disarm(): void {
    this.armedUntil = 0;
    this.grants.clear();
  }

  /** When enrolment ends, or null when it is not armed. */
  armedUntilDate(): Date | null {
    return this.isArmed() ? new Date(this.armedUntil) : null;
  }

  isArmed(): boolean {
    return this.now() < this.armedUntil;
  }

  /**
   * A fresh one-time token for `machineId` at `address`, replacing any earlier one (a machine
   * that re-fetches stage 1 gets a new token and the old one dies). Null when not armed.
   */
  issue(machineId: string, address: string): string | null {
    if (!this.isArmed()) return null;
    const token = randomBytes(32).toString('base64url');
    this.grants.set(machineId, { digest: digest(token), address, expiresAt: this.armedUntil, used: false });
    return token;
  }

  /**
   * Checks and consumes. Every refusal after a matching token burns the grant: a token seen
   * from the wrong address has leaked, so the real machine must boot again for a new one.
   */
  redeem(machineId: string, token: string, address: string): Redeemed {
    if (!this.isArmed()) return { ok: false, reason: 'unarmed' };
    const g = this.grants.get(machineId);
    if (!g) return { ok: false, reason: 'no-grant' };
    if (!timingSafeEqual(g.digest, digest(token))) return { ok: false, reason: 'bad-token' };
    if (g.used) return { ok: false, reason: 'used' };
    if (this.now() >= g.expiresAt) return { ok: false, reason: 'expired' };
    g.used = true;
    if (g.address !== address) return { ok: false, reason: 'wrong-address' };
    return { ok: true };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
