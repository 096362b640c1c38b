/**
 * Controllers are not diskless (k8s-bootstrap.md 1c): etcd and the PKI kubeadm makes must
 * outlive a reboot. Their kernel line gets `root=LABEL=ROOT` (Flatcar's PXE image then uses
 * that filesystem as its root; booting-with-pxe.md: "may be completely blank; it will be
 * initialized on boot"), stage 1 creates the filesystem on `cluster.controllerDisk`, and after
 * the first finished provisioning the seed stops passing `flatcar.first_boot=1`, as that page
 * asks ("only on the first boot"): Ignition must not run, and fetch secrets, a second time.
 */
import { ROOT_LABEL } from '../cluster/index.ts';
import type { Machine } from '../inventory/index.ts';

export const FIRST_BOOT_ARG = 'flatcar.first_boot=1';
export const ROOT_ARG = `root=LABEL=${ROOT_LABEL}`;

export function persistentRootArgs(m: Machine, args: readonly string[]): string[] {
  if (m.role !== 'controller') return [...args];
  const out = args.filter((a) => !(a === FIRST_BOOT_ARG && m.provisionedAt !== undefined));
  if (!out.some((a) => a.startsWith('root='))) out.unshift(ROOT_ARG);
  return out;
}
