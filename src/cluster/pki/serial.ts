/**
 * Certificate serial numbers (RFC 5280 section 4.1.2.2): unique per CA, a positive INTEGER of at
 * most 20 octets. Random serials mean two CAs made by two seeds never collide and a reissued
 * certificate is distinguishable from the one it replaces; kubeadm draws them from crypto/rand too
 * (cmd/kubeadm/app/util/pkiutil). 16 random bytes with the top bit cleared keep the DER INTEGER
 * positive without a leading zero byte: 127 bits of entropy, the "128-bit serial" of the design.
 */
import { randomBytes } from 'node:crypto';

export const SERIAL_BYTES = 16;

/** A random positive serial as the hex string `@peculiar/x509` expects. */
export function randomSerial(random: (n: number) => Uint8Array = randomBytes): string {
  const b = Buffer.from(random(SERIAL_BYTES));
  b[0] = b[0]! & 0x7f;
  // a zero first octet would make the DER encoding non-minimal (X.690 8.3.2); keep it nonzero
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}
