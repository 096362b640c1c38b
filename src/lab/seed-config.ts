/**
 * The config of the lab's seed: a real `metalseed serve` on the provisioning link, with every
 * role booting the lab image (Debian kernel + the initramfs that runs Ignition) instead of
 * Flatcar, so /ignition still renders each machine's role config with the same generators a
 * Flatcar node gets. Plus the two small iPXE scripts behind the `lab-undionly` profile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PLANE_ENDPOINT, PROV_IF, PROV_NET, SEED_IP, SEED_PORT, SEED_URL } from './layout.ts';

/** Where the boot image is served from: dataDir/assets/lab → /assets/lab/. */
export const IMAGE_ASSET_DIR = 'lab';
export const UNDIONLY_PROFILE = 'lab-undionly';

/**
 * The lab kernel's command line. `metalseed.seed` tells /init where to report; Ignition reads
 * `ignition.config.url` and `ignition.platform.id` from /proc/cmdline. `quiet`: every console
 * line is an emulated UART write under TCG; the lab's own progress lines still show.
 */
export function kernelArgs(seed: string, mac: string): string[] {
  return [
    'console=ttyS0,115200n8',
    'quiet',
    'panic=10',
    'ignition.firstboot=1',
    'ignition.platform.id=metal',
    `ignition.config.url=${seed}/ignition?mac=${mac}`,
    `metalseed.seed=${seed}`,
  ];
}

function labProfile() {
  return {
    kernel: `{{seed}}/assets/${IMAGE_ASSET_DIR}/vmlinuz`,
    initrds: [`{{seed}}/assets/${IMAGE_ASSET_DIR}/initrd.gz`],
    args: kernelArgs('{{seed}}', '{{mac}}'),
  };
}

export interface SeedConfigInputs {
  dataDir: string;
  logLevel?: 'debug' | 'info';
}

/** The YAML object written to run/seed.yaml. */
export function labSeedConfig(i: SeedConfigInputs): Record<string, unknown> {
  return {
    dataDir: i.dataDir,
    interface: PROV_IF,
    advertise: SEED_IP,
    http: { port: SEED_PORT },
    dhcp: {
      mode: 'authoritative',
      range: `${PROV_NET}.100-${PROV_NET}.199`,
      leaseTime: '1h',
      // the seed routes for its machines, as the classic master did (uplink: layout.ts)
      router: SEED_IP,
    },
    tftp: { enabled: true, root: '/usr/lib/ipxe' },
    ra: { enabled: true },
    log: { level: i.logLevel ?? 'info', format: 'json' },
    defaultRole: 'worker',
    profiles: {
      worker: labProfile(),
      controller: labProfile(),
      // iPXE expands ${netX/chip} before fetching: the ROM's iPXE (chip virtio-net) gets a script
      // that chainloads undionly.kpxe over TFTP; undionly (chip undionly) gets the lab image
      [UNDIONLY_PROFILE]: {
        kernel: `{{seed}}/assets/${IMAGE_ASSET_DIR}/undionly-\${netX/chip}.ipxe`,
        initrds: [],
        args: [],
      },
    },
    cluster: {
      name: 'metalseed-lab',
      controlPlaneEndpoint: CONTROL_PLANE_ENDPOINT,
      // no control plane runs in the lab yet: watching its Nodes would only ARP for it forever
      watchNodes: false,
    },
  };
}

/** Writes the scripts `lab-undionly` machines fetch, into the served image directory. */
export function writeUndionlyScripts(assetDir: string): void {
  mkdirSync(assetDir, { recursive: true });
  const viaTftp = [
    '#!ipxe',
    'echo metalseed lab: ${netX/chip} ROM, chainloading undionly.kpxe over TFTP',
    `chain tftp://${SEED_IP}/undionly.kpxe`,
    '',
  ].join('\n');
  writeFileSync(join(assetDir, 'undionly-virtio-net.ipxe'), viaTftp);
  // undionly's own DHCP brings it back to /boot.ipxe and this profile; here it boots the image.
  // No `--name kernel`: that is the name of this very script image (the profile's "kernel").
  const lab = `${SEED_URL}/assets/${IMAGE_ASSET_DIR}`;
  const image = [
    '#!ipxe',
    'echo metalseed lab: running on ${netX/chip}, booting the lab image',
    `kernel ${lab}/vmlinuz initrd=initrd.gz ${kernelArgs(SEED_URL, '${netX/mac}').join(' ')} || goto failed`,
    `initrd ${lab}/initrd.gz || goto failed`,
    'boot || goto failed',
    ':failed',
    'echo metalseed lab: boot failed; retrying from the seed in 10 s',
    'sleep 10 ||',
    `chain --autofree ${SEED_URL}/boot.ipxe`,
    '',
  ].join('\n');
  writeFileSync(join(assetDir, 'undionly-undionly.ipxe'), image);
}
