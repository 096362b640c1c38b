/** Every default of the config file as a named constant, with its reason. */

/** The FHS place for state of a system service. */
export const DEFAULT_DATA_DIR = '/var/lib/metalseed';
/** Not 80: firmware does not care, and 8080 needs no conflict with a web server on the seed. */
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_HTTP_ADDRESS = '0.0.0.0';
/** The secret stage (controllers only), as in k8s-bootstrap.md's examples. */
export const DEFAULT_HTTPS_PORT = 8443;
/** One hour, as dnsmasq's default; long enough for a PXE boot, short enough to recycle a lab. */
export const DEFAULT_LEASE_SECONDS = 3600;
/** Debian's `ipxe` package puts undionly.kpxe, ipxe.efi and snponly.efi here. */
export const DEFAULT_TFTP_ROOT = '/usr/lib/ipxe';
export const DEFAULT_TFTP_PORT = 69;
/** 1468 = 1500-byte Ethernet MTU minus IP, UDP and TFTP headers (the value OVMF asks for). */
export const DEFAULT_TFTP_BLKSIZE_MAX = 1468;
/** RFC 7440 section 4 measured gains flatten past 16-64; OVMF asks 4, atftp users 8. */
export const DEFAULT_TFTP_WINDOWSIZE_MAX = 64;
export const DEFAULT_BINARIES = {
  bios: 'undionly.kpxe',
  efi: 'ipxe.efi',
  snponly: 'snponly.efi',
  arm64: 'arm64-efi/ipxe.efi',
} as const;
/** As in the classic setup: any machine plugged into the network joins as a worker. */
export const DEFAULT_ROLE = 'worker';
/** When dhcp.range is not given: this host-number span of the interface's subnet. */
export const DEFAULT_RANGE_HOSTS = { first: 100, last: 199 } as const;

/**
 * The profile every role boots unless `profiles` overrides it: Flatcar Container Linux's PXE
 * images from the seed's asset cache, first boot with Ignition from the seed
 * (flatcar.org/docs/latest/installing/bare-metal/booting-with-ipxe). No `flatcar.autologin`:
 * it opens a root console on every node (k8s-bootstrap.md section 6.5); put it in a debug
 * profile when wanted.
 */
export const DEFAULT_PROFILE = {
  kernel: '{{seed}}/assets/flatcar/flatcar_production_pxe.vmlinuz',
  initrds: ['{{seed}}/assets/flatcar/flatcar_production_pxe_image.cpio.gz'],
  args: [
    'flatcar.first_boot=1',
    'ignition.config.url={{seed}}/ignition?mac={{mac}}',
    'console=tty0',
    'console=ttyS0,115200n8',
  ],
  efiBinary: 'ipxe',
} as const;
