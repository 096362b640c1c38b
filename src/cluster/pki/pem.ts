/**
 * PEM text encoding (RFC 7468): a `-----BEGIN LABEL-----` line, the DER bytes in base64 wrapped
 * at 64 columns (section 2, "strict" generation), `-----END LABEL-----`, and a final newline.
 * Decoding is strict too: one block, the expected label, only base64 inside. Files on disk are
 * compared byte for byte on reload, so encode(decode(x)) must give x back for our own output.
 */
import { MetalseedError } from '../../lib/errors.ts';

/** RFC 7468 section 2: generators wrap base64 lines at exactly 64 characters. */
const PEM_LINE = 64;

/** The labels this PKI writes (RFC 7468 sections 5, 10, 13). */
export const PemLabel = {
  certificate: 'CERTIFICATE',
  /** PKCS #8 PrivateKeyInfo (RFC 5958), what WebCrypto exports and Go's keyutil reads. */
  privateKey: 'PRIVATE KEY',
  /** SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7), the format of kubeadm's `sa.pub`. */
  publicKey: 'PUBLIC KEY',
} as const;
export type PemLabel = (typeof PemLabel)[keyof typeof PemLabel];

export function encodePem(label: PemLabel, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += PEM_LINE) lines.push(b64.slice(i, i + PEM_LINE));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const BLOCK =
  /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END ([A-Z0-9 ]+)-----\r?\n?$/;

/** DER bytes of the single PEM block in `text`; `what` names the source in errors (a path). */
export function decodePem(label: PemLabel, text: string, what: string): Uint8Array<ArrayBuffer> {
  const m = BLOCK.exec(text.trim() + '\n');
  if (!m) throw invalid(what, 'is not a single PEM block');
  if (m[1] !== label || m[3] !== label) {
    throw invalid(what, `holds a "${m[1]}" PEM block, expected "${label}"`);
  }
  const body = m[2]!.replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw invalid(what, 'has a damaged base64 body');
  }
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function invalid(what: string, problem: string): MetalseedError {
  return new MetalseedError('CONFIG_INVALID', `${what} ${problem}`);
}
