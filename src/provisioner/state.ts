/**
 * A machine's state follows its timeline: each boot step moves it forward, never back, except
 * that firmware starting a new network boot begins a new round (a rebooted machine is
 * `discovered` again until it fetches its script).
 */
import type { MachineState } from '../inventory/index.ts';

const ORDER: Record<MachineState, number> = {
  pending: 0,
  discovered: 1,
  booting: 2,
  configured: 3,
  provisioned: 4,
  joined: 5,
};

/** The state an event proves, if any. */
const PROVES: Record<string, MachineState> = {
  'dhcp.discover': 'discovered',
  'dhcp.offer': 'discovered',
  'dhcp.proxy_offer': 'discovered',
  'dhcp.ack': 'discovered',
  'tftp.done': 'booting',
  'http.boot_ipxe': 'booting',
  'http.ipxe': 'booting',
  'http.asset': 'booting',
  'http.ignition': 'configured',
  report: 'provisioned',
  'report.failed': 'configured',
  'node.ready': 'joined',
};

/**
 * `netbootStart`: firmware or iPXE sent a DISCOVER, which proves `discovered` whatever the
 * event recording it (an OFFER, or an ignored DISCOVER). It starts a new round only when the
 * last boot got as far as its config, so that OVMF → ipxe.efi → iPXE (three DISCOVERs in one
 * boot) does not bounce the state back and forth.
 */
export function nextState(current: MachineState, event: string, netbootStart: boolean): MachineState {
  if (current === 'pending') return current; // only approval moves a pending machine
  const proved = PROVES[event] ?? (netbootStart ? 'discovered' : undefined);
  if (!proved) return current;
  if (netbootStart && ORDER[current] >= ORDER.configured) return proved;
  return ORDER[proved] > ORDER[current] ? proved : current;
}
