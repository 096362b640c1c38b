/// <reference lib="dom" />
/**
 * The one door to `@peculiar/x509`: its declarations use the WebCrypto globals (`CryptoKey`,
 * `Crypto`, `BufferSource`) that TypeScript only ships in lib "dom", so this is the only file
 * that references it. `reflect-metadata` must be loaded before the library (its ASN.1 schema
 * decorators read metadata at import time); ESM evaluates imports in order, so it comes first.
 * Node 20's `globalThis.crypto` is a full WebCrypto implementation (ECDSA P-256 included).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
/** WebCrypto handles, re-exported as types so other modules need no lib "dom" of their own. */
export type WebCryptoKey = CryptoKey;
export const subtle = webcrypto.subtle;
