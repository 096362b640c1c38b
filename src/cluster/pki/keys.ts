/**
 * ECDSA P-256 key pairs, as kubeadm makes them with `encryptionAlgorithm: ECDSA-P256`
 * (kubeadm v1beta4 ClusterConfiguration; kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4).
 * Private keys are PKCS #8 PEM ("PRIVATE KEY", RFC 5958): Go's k8s.io/client-go/util/keyutil
 * reads it for `ca.key`/`sa.key`, and kube-apiserver/controller-manager accept ECDSA service-account
 * keys (`--service-account-key-file`, `--service-account-private-key-file`). Public keys are
 * SubjectPublicKeyInfo PEM ("PUBLIC KEY"), the format of kubeadm's `sa.pub`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { MetalseedError } from '../../lib/errors.ts';
import { decodePem, encodePem, PemLabel } from './pem.ts';
import { subtle, type WebCryptoKey } from './x509.ts';

/** NIST P-256 (RFC 5480 section 2.1.1.1: secp256r1 = prime256v1), kubeadm's `ECDSA-P256`. */
export const EC_CURVE = 'prime256v1';
/** The WebCrypto spelling of the same curve, and the signature algorithm used with it (RFC 5758 3.2). */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  /** PKCS #8 PEM: secret, written 0600 and never served to anything but an enrolled controller. */
  keyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  publicKeyPem: string;
}

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: EC_CURVE });
  return { keyPem: exportPrivate(privateKey), publicKeyPem: exportPublic(publicKey) };
}

/** Reads a private key PEM, insisting on ECDSA P-256; `what` (a path) names it in errors. */
export function readPrivateKey(keyPem: string, what: string): KeyObject {
  decodePem(PemLabel.privateKey, keyPem, what);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new MetalseedError(
      'CONFIG_INVALID',
      `${what} is not a readable private key: ${(err as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== EC_CURVE) {
    throw new MetalseedError('CONFIG_INVALID', `${what} is not an ECDSA P-256 key`);
  }
  return key;
}

/** The DER SubjectPublicKeyInfo of a private key, public key or certificate PEM. */
export function spkiDer(pem: string): Buffer {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' });
}

/** Imports a PKCS #8 PEM as a WebCrypto signing key for `@peculiar/x509`. */
export async function importSigningKey(keyPem: string, what: string): Promise<WebCryptoKey> {
  const der = decodePem(PemLabel.privateKey, keyPem, what);
  return subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']);
}

function exportPrivate(key: KeyObject): string {
  return encodePem(PemLabel.privateKey, key.export({ type: 'pkcs8', format: 'der' }));
}

function exportPublic(key: KeyObject): string {
  return encodePem(PemLabel.publicKey, key.export({ type: 'spki', format: 'der' }));
}
