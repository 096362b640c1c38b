/**
 * IPv4 CIDR blocks (RFC 4632). Host bits must be zero, so every block has one spelling: rule
 * selectors, the cluster's pod and service networks, and what kubeadm and flannel are given.
 */
import { ipToString, parseIPv4, prefixToMask, sameSubnet } from './net.ts';

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const CIDR_RE = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;

export function parseCidr(s: string): Cidr | null {
  const m = CIDR_RE.exec(s);
  if (!m) return null;
  const base = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (base === null || prefix > 32) return null;
  if ((base & ~prefixToMask(prefix)) >>> 0 !== 0) return null;
  return { base, prefix };
}

export function cidrToString(c: Cidr): string {
  return `${ipToString(c.base)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, addr: number): boolean {
  return sameSubnet(c.base, addr, prefixToMask(c.prefix));
}

/** Two aligned blocks overlap exactly when one contains the other's network address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const mask = prefixToMask(Math.min(a.prefix, b.prefix));
  return ((a.base ^ b.base) & mask) >>> 0 === 0;
}

/**
 * The address `index` places after the network address, as Kubernetes' `GetIndexedIP` computes
 * it (k8s.io/utils/net); the caller checks that the block is large enough.
 */
export function indexedAddress(c: Cidr, index: number): string {
  return ipToString((c.base + index) >>> 0);
}
