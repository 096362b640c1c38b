import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CA_VALIDITY_MS,
  createCa,
  issueCertificate,
  LEAF_VALIDITY_MS,
  NOT_BEFORE_BACKDATE_MS,
} from './certificate.ts';
import { assertSignedBy, parseCertificate } from './inspect.ts';
import { spkiDer } from './keys.ts';
import { randomSerial } from './serial.ts';
import { x509 } from './x509.ts';

const NOW = new Date('2026-03-04T05:06:07.890Z');
const NOW_S = new Date('2026-03-04T05:06:07Z').getTime();

describe('certificates', () => {
  it('a CA: self-signed, CA:TRUE critical, keyCertSign+cRLSign+digitalSignature critical, SKI = AKI, 10 years', async () => {
    const ca = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const c = parseCertificate(ca.certPem, 'ca');
    assert.equal(c.subject, 'CN=kubernetes');
    assert.equal(c.issuer, 'CN=kubernetes');
    const bc = c.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, true);
    assert.equal(bc.critical, true);
    const ku = c.getExtension(x509.KeyUsagesExtension)!;
    const F = x509.KeyUsageFlags;
    assert.equal(ku.usages, F.keyCertSign | F.cRLSign | F.digitalSignature);
    assert.equal(ku.critical, true);
    const ski = c.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    assert.equal(c.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, ski);
    assert.equal(c.notBefore.getTime(), NOW_S - NOT_BEFORE_BACKDATE_MS);
    assert.equal(c.notAfter.getTime(), NOW_S + CA_VALIDITY_MS);
    assert.ok(await c.verify({ signatureOnly: true }));
    assert.ok(spkiDer(ca.certPem).equals(spkiDer(ca.keyPem)));
    // node's own parser agrees
    const n = new NodeX509(ca.certPem);
    assert.equal(n.ca, true);
    assert.equal(n.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('a leaf: signed by the CA, SANs, EKUs, O/CN, 1 year, AKI = CA SKI', async () => {
    const ca = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const leaf = await issueCertificate({
      ca,
      subject: { commonName: 'kube-apiserver', organizations: ['o1', 'o2'] },
      usages: ['serverAuth', 'clientAuth'],
      dnsNames: ['kubernetes.default', 'cp-01'],
      ipAddresses: ['10.3.0.1', 'fd00::11'],
      now: NOW,
    });
    const c = parseCertificate(leaf.certPem, 'leaf');
    assert.equal(c.subject, 'O=o1, O=o2, CN=kube-apiserver');
    assert.equal(c.issuer, 'CN=kubernetes');
    assert.equal(c.getExtension(x509.BasicConstraintsExtension)!.ca, false);
    assert.equal(c.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(
      [...c.getExtension(x509.ExtendedKeyUsageExtension)!.usages],
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    );
    const n = new NodeX509(leaf.certPem);
    assert.equal(
      n.subjectAltName,
      'DNS:kubernetes.default, DNS:cp-01, IP Address:10.3.0.1, IP Address:FD00:0:0:0:0:0:0:11',
    );
    assert.ok(n.checkIssued(new NodeX509(ca.certPem)));
    assert.ok(n.verify(new NodeX509(ca.certPem).publicKey));
    const caSki = parseCertificate(ca.certPem, 'ca').getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    assert.equal(c.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, caSki);
    assert.equal(c.notAfter.getTime(), NOW_S + LEAF_VALIDITY_MS);
    await assertSignedBy(leaf.certPem, ca.certPem, 'leaf', 'ca');
  });

  it('a leaf never outlives its CA', async () => {
    const ca = await createCa({ subject: { commonName: 'short' }, now: NOW, validityMs: 10 * 86_400_000 });
    const leaf = await issueCertificate({
      ca,
      subject: { commonName: 'x' },
      usages: ['clientAuth'],
      now: NOW,
    });
    assert.equal(
      parseCertificate(leaf.certPem, 'l').notAfter.getTime(),
      parseCertificate(ca.certPem, 'c').notAfter.getTime(),
    );
  });

  it('a leaf of another CA fails the signature check', async () => {
    const a = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const b = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const leaf = await issueCertificate({
      ca: b,
      subject: { commonName: 'x' },
      usages: ['clientAuth'],
      now: NOW,
    });
    await assert.rejects(
      assertSignedBy(leaf.certPem, a.certPem, '/p/leaf.crt', '/p/ca.crt'),
      /not signed by/,
    );
  });

  it('serials: positive, 16 bytes, random', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const s = randomSerial();
      assert.match(s, /^[0-7][0-9a-f]{31}$/);
      assert.notEqual(s.slice(0, 2), '00');
      seen.add(s);
    }
    assert.equal(seen.size, 100);
    assert.equal(randomSerial(() => new Uint8Array(16).fill(0xff)).slice(0, 2), '7f');
    assert.equal(randomSerial(() => new Uint8Array(16)).slice(0, 2), '01');
  });
});
