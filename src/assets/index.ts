/** The verified asset cache: what puts files under `dataDir/assets/`, which /assets/ serves. */
export { type CacheResult, describe } from './cache.ts';
export type { OnProgress, Progress } from './download.ts';
export { type FetchOptions, FLATCAR_SET, fetchAssets, type ImportOptions, importAssets } from './fetch.ts';
export {
  CURRENT,
  FLATCAR_CHANNELS,
  FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT,
  FLATCAR_IMAGE_SIGNING_KEY_URL,
  FLATCAR_PXE_FILES,
  type FlatcarArch,
  type FlatcarChannel,
  isArch,
  isChannel,
} from './flatcar.ts';
export type { GpgBinaries, KeyInfo } from './gpg.ts';
export { formatFingerprint } from './gpg-status.ts';
export { KEYRING_FILE, STAGING_DIR } from './install.ts';
export {
  MANIFEST_FILE,
  type Manifest,
  type ManifestAsset,
  readManifest,
  type VerifiedBy,
} from './manifest.ts';
export { findSysext, type InstalledSysext, installSysext, SYSEXT_SET, sumFor, sysextName } from './sysext.ts';
export { checkFingerprint, type TrustOptions, trustSigningKey } from './trust.ts';
