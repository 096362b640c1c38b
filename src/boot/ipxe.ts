/**
 * iPXE scripts (ipxe.org/scripting). Output is byte-stable: the same inputs give the same
 * bytes, covered by golden files.
 */

/**
 * iPXE settings sent to the seed by `/boot.ipxe`, so that the per-machine script is chosen
 * with everything iPXE knows. `netX` is the interface iPXE booted from (ipxe.org/cfg), so a
 * machine booting from its second NIC reports that NIC's MAC. `:uristring` percent-encodes
 * values that may hold spaces (ipxe.org/cfg/uristring).
 */
export const IPXE_FACTS: readonly (readonly [string, string])[] = [
  ['mac', '${netX/mac}'],
  ['uuid', '${uuid}'],
  ['serial', '${serial:uristring}'],
  ['asset', '${asset:uristring}'],
  ['manufacturer', '${manufacturer:uristring}'],
  ['product', '${product:uristring}'],
  ['buildarch', '${buildarch}'],
  ['platform', '${platform}'],
  ['chip', '${netX/chip}'],
  ['ip', '${netX/ip}'],
];

export function bootScript(seedUrl: string): string {
  const query = IPXE_FACTS.map(([k, v]) => `${k}=${v}`).join('&');
  return [
    '#!ipxe',
    "# metalseed: hand over to this machine's own script",
    `chain --autofree ${seedUrl}/ipxe?${query} || goto failed`,
    ':failed',
    'echo metalseed: could not fetch the machine script from the seed; retrying in 10 s',
    'sleep 10 ||',
    `chain --autofree ${seedUrl}/boot.ipxe`,
    '',
  ].join('\n');
}

export interface KernelSpec {
  /** A label for logs and the console, e.g. "cp-01 (profile flatcar)". */
  title: string;
  kernel: string;
  initrds: readonly string[];
  args: readonly string[];
  seedUrl: string;
}

/**
 * A machine's boot script. Each initrd is named and the kernel line carries `initrd=NAME`:
 * Linux's EFI stub loads initrds only from that argument (lab-findings: "iPXE on EFI needs
 * initrd="), and on BIOS the argument is ignored.
 */
export function kernelScript(k: KernelSpec): string {
  const names = k.initrds.map((url, i) => initrdName(url, i));
  const args = [...names.map((n) => `initrd=${n}`), ...k.args].join(' ');
  return [
    '#!ipxe',
    `echo metalseed: booting ${k.title}`,
    `kernel --name kernel ${k.kernel} ${args} || goto failed`.replace(/ {2,}/g, ' '),
    ...k.initrds.map((url, i) => `initrd --name ${names[i]} ${url} || goto failed`),
    'boot || goto failed',
    ':failed',
    'echo metalseed: boot failed; retrying from the seed in 10 s',
    'sleep 10 ||',
    `chain --autofree ${k.seedUrl}/boot.ipxe`,
    '',
  ].join('\n');
}

/** A stable, unique image name: the URL's last path segment, or initrdN. */
export function initrdName(url: string, index: number): string {
  const last = url.split('?')[0]!.split('/').pop() ?? '';
  return /^[A-Za-z0-9._-]{1,64}$/.test(last) ? `${index}-${last}` : `initrd${index}`;
}

/** A script that tells the operator why this machine does not boot, then retries. */
export function waitScript(message: string, seedUrl: string, seconds = 30): string {
  return [
    '#!ipxe',
    `echo metalseed: ${message.replace(/[\r\n]/g, ' ')}`,
    `echo metalseed: asking again in ${seconds} s`,
    `sleep ${seconds} ||`,
    `chain --autofree ${seedUrl}/boot.ipxe`,
    '',
  ].join('\n');
}
