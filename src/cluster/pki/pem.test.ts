import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MetalseedError } from '../../lib/errors.ts';
import { decodePem, encodePem, PemLabel } from './pem.ts';

describe('PEM (RFC 7468)', () => {
  it('round-trips any DER length with 64-column lines and a final newline', () => {
    for (const n of [0, 1, 47, 48, 49, 300]) {
      const der = new Uint8Array(randomBytes(n));
      const pem = encodePem(PemLabel.certificate, der);
      assert.ok(pem.endsWith('-----END CERTIFICATE-----\n'));
      for (const line of pem.split('\n').slice(1, -2)) assert.ok(line.length <= 64);
      assert.deepEqual(decodePem(PemLabel.certificate, pem, 'x'), der);
    }
  });

  it('accepts CRLF line ends and surrounding whitespace', () => {
    const der = new Uint8Array(randomBytes(100));
    const pem = `\n${encodePem(PemLabel.publicKey, der).replace(/\n/g, '\r\n')}  \n`;
    assert.deepEqual(decodePem(PemLabel.publicKey, pem, 'x'), der);
  });

  it('rejects a wrong label, two blocks, damaged base64, and names the source', () => {
    const pem = encodePem(PemLabel.privateKey, new Uint8Array(randomBytes(40)));
    const cases = [
      encodePem(PemLabel.certificate, new Uint8Array(3)),
      pem + pem,
      pem.replace(/\n([A-Za-z0-9+/])/, '\n!$1'),
      'garbage',
      '',
    ];
    for (const text of cases) {
      assert.throws(
        () => decodePem(PemLabel.privateKey, text, '/pki/ca.key'),
        (e: unknown) =>
          e instanceof MetalseedError && e.code === 'CONFIG_INVALID' && e.message.includes('/pki/ca.key'),
      );
    }
  });
});
