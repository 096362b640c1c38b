/**
 * Where Flatcar Container Linux publishes its PXE images and how they are signed
 * (flatcar.org docs: deploy/bare-metal/booting-with-pxe.md, security/image-signing-key.md,
 * deploy/virt-options/notes-for-distributors.md; see ../shared/reference/k8s-bootstrap.md §1).
 */
import { MetalseedError } from '../lib/errors.ts';

/**
 * Primary fingerprint of the Flatcar image signing key (key ID E25D9AED0593B34A). Pinned here
 * because the key itself cannot be downloaded by the seed in every network: the operator
 * imports it with `metalseed assets trust Flatcar_Image_Signing_Key.asc`, and only a key with
 * this primary fingerprint is accepted. Its signing subkeys rotate yearly (the 2025 one expires
 * 2027-03-08), so the key file is re-imported periodically; the primary stays the same.
 */
export const FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT = 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A';
/** Where an operator gets the key file for `assets trust`. */
export const FLATCAR_IMAGE_SIGNING_KEY_URL =
  'https://www.flatcar.org/security/image-signing-key/Flatcar_Image_Signing_Key.asc';

export const FLATCAR_CHANNELS = ['stable', 'beta', 'alpha'] as const;
export type FlatcarChannel = (typeof FLATCAR_CHANNELS)[number];
export const FLATCAR_ARCHES = ['amd64-usr', 'arm64-usr'] as const;
export type FlatcarArch = (typeof FLATCAR_ARCHES)[number];
export const DEFAULT_FLATCAR_ARCH: FlatcarArch = 'amd64-usr';

/** The PXE kernel and initrd; both channels and both arches use these names. */
export const FLATCAR_PXE_FILES = [
  'flatcar_production_pxe.vmlinuz',
  'flatcar_production_pxe_image.cpio.gz',
] as const;

/** `current` is resolved through this file in the channel's `current/` directory. */
export const VERSION_FILE = 'version.txt';
export const CURRENT = 'current';

/** The release server of a channel and arch; `--base-url` replaces it (mirrors, tests). */
export function defaultBaseUrl(channel: FlatcarChannel, arch: FlatcarArch = DEFAULT_FLATCAR_ARCH): string {
  return `https://${channel}.release.flatcar-linux.net/${arch}`;
}

/**
 * Flatcar versions are MAJOR.MINOR.PATCH (4593.2.5). Checked before a version becomes a
 * directory name, so a hostile version.txt cannot write outside the cache.
 */
const VERSION_RE = /^\d+\.\d+\.\d+$/;

export function checkVersion(v: string, where: string): string {
  if (!VERSION_RE.test(v)) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `${where}: "${v}" is not a Flatcar version (expected MAJOR.MINOR.PATCH, e.g. 4593.2.5)`,
      'pass --version current or a release number from https://www.flatcar.org/releases',
    );
  }
  return v;
}

/** `FLATCAR_VERSION_ID=4593.2.5` from version.txt (shell variable assignments, one a line). */
export function parseVersionTxt(text: string, where: string): string {
  for (const line of text.split('\n')) {
    const m = /^FLATCAR_VERSION_ID=["']?([^"'\s]*)["']?\s*$/.exec(line.trim());
    if (m) return checkVersion(m[1] ?? '', where);
  }
  throw new MetalseedError('INVALID_INPUT', `${where}: no FLATCAR_VERSION_ID line`);
}

export function isChannel(v: string): v is FlatcarChannel {
  return (FLATCAR_CHANNELS as readonly string[]).includes(v);
}

export function isArch(v: string): v is FlatcarArch {
  return (FLATCAR_ARCHES as readonly string[]).includes(v);
}
