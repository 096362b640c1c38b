/**
 * Sends the quiet Router Advertisement on the provisioning link when a machine starts iPXE,
 * so iPXE's IPv6 autoconfiguration (started together with its DHCPv4) ends at once. Rate
 * limited per link: RFC 4861 section 6.2.6 asks for at most one multicast RA per
 * MIN_DELAY_BETWEEN_RAS (3 s); a boot storm of hundreds of iPXE clients then still sends one
 * RA every 3 s, and every client that solicited within that window is answered by it.
 */
import type { Logger } from '../lib/log.ts';
import type { Mac } from '../lib/net.ts';
import { encode, quietAdvertisement } from './ra.ts';

export const MIN_DELAY_BETWEEN_RAS_MS = 3000;
const ALL_NODES = 'ff02::1';

export type Icmp6Sender = (ifname: string, group: string, payload: Uint8Array) => void;

export class RaAdvertiser {
  private last = Number.NEGATIVE_INFINITY;
  private pending: ReturnType<typeof setTimeout> | null = null;
  private warned = false;
  private readonly payload: Uint8Array;
  sent = 0;

  constructor(
    private readonly o: {
      ifname: string;
      send: Icmp6Sender;
      logger: Logger;
      now: () => number;
      sourceMac?: Mac;
    },
  ) {
    this.payload = encode(quietAdvertisement(o.sourceMac));
  }

  /** A host on the link is configuring: advertise now, or as soon as the rate limit allows. */
  poke(): void {
    if (this.pending) return;
    const wait = this.last + MIN_DELAY_BETWEEN_RAS_MS - this.o.now();
    if (wait <= 0) this.send();
    else this.pending = setTimeout(() => this.send(), wait);
  }

  close(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
  }

  private send(): void {
    this.pending = null;
    this.last = this.o.now();
    try {
      this.o.send(this.o.ifname, ALL_NODES, this.payload);
      this.sent++;
    } catch (err) {
      // e.g. IPv6 disabled on the link, or its link-local address still tentative (DAD) just
      // after the link came up: say so once, and try again on the next poke
      if (this.warned) return;
      this.warned = true;
      this.o.logger.warn(
        { event: 'ra.failed', interface: this.o.ifname, err: (err as Error).message },
        'cannot send IPv6 router advertisements; iPXE will wait ~15 s for one on each boot (enable IPv6 on the interface or set ra.enabled: false)',
      );
    }
  }
}
