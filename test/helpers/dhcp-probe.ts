/**
 * A raw DHCP client for the cases real clients cannot show: a ProxyDHCP offer (yiaddr 0, which
 * udhcpc will not bind) and a true INIT-REBOOT DHCPREQUEST (RFC 2131 section 4.3.2: option 50,
 * no option 54, ciaddr 0). It is deliberately independent of src/dhcp, so a codec bug there
 * cannot hide itself. Run inside a client namespace:
 *
 *   node --import tsx test/helpers/dhcp-probe.ts '<ProbeSpec as JSON>'
 *
 * It sends one message from 0.0.0.0:68 to 255.255.255.255:67 and prints every BOOTREPLY for
 * its xid received within `listenMs` as one JSON line (`ProbeReply`).
 */

import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { pathToFileURL } from 'node:url';

export interface ProbeSpec {
  mac: string;
  type: 'discover' | 'request';
  /** Option 50. */
  requestedIp?: string;
  /** Option 54 (SELECTING state); leave out for INIT-REBOOT. */
  serverId?: string;
  /** Option 60, e.g. `PXEClient:Arch:00007:UNDI:003016`. */
  vendorClass?: string;
  /** Option 93 client system architecture (RFC 4578 section 2.1). */
  arch?: number;
  /** Option 77 user class, raw (iPXE sends `iPXE` without RFC 3004 length prefix). */
  userClass?: string;
  /** Option 61 = 01 + MAC, as udhcpc sends it (default true). */
  clientId?: boolean;
  listenMs?: number;
}

export interface ProbeReply {
  from: string;
  op: number;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  chaddr: string;
  sname: string;
  file: string;
  /** Option 53 as a number (2 offer, 5 ack, 6 nak). */
  msgType: number | null;
  /** Every option, code → hex bytes. */
  options: Record<string, string>;
}

/** RFC 2131 section 3: message types. */
export const MSG = { discover: 1, offer: 2, request: 3, decline: 4, ack: 5, nak: 6 } as const;
const MAGIC = [99, 130, 83, 99]; // RFC 2131 section 3: magic cookie
const BROADCAST_FLAG = 0x8000; // replies must be broadcast: this client has no address yet

const ip4 = (s: string): number[] => s.split('.').map(Number);
const macBytes = (mac: string): number[] => mac.split(':').map((h) => Number.parseInt(h, 16));
const ipStr = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function encodeRequest(spec: ProbeSpec, xid: number): Uint8Array {
  const head = new Uint8Array(236);
  const dv = new DataView(head.buffer);
  head[0] = 1; // BOOTREQUEST
  head[1] = 1; // htype ethernet
  head[2] = 6;
  dv.setUint32(4, xid);
  dv.setUint16(10, BROADCAST_FLAG);
  head.set(macBytes(spec.mac), 28);
  const opts: number[] = [...MAGIC];
  const add = (code: number, data: number[]): void => {
    opts.push(code, data.length, ...data);
  };
  add(53, [spec.type === 'discover' ? MSG.discover : MSG.request]);
  if (spec.clientId !== false) add(61, [1, ...macBytes(spec.mac)]);
  if (spec.requestedIp) add(50, ip4(spec.requestedIp));
  if (spec.serverId) add(54, ip4(spec.serverId));
  if (spec.vendorClass) add(60, [...Buffer.from(spec.vendorClass, 'latin1')]);
  if (spec.arch !== undefined) add(93, [spec.arch >> 8, spec.arch & 0xff]);
  if (spec.userClass) add(77, [...Buffer.from(spec.userClass, 'latin1')]);
  add(55, [1, 3, 6, 12, 15, 28, 43, 51, 54, 60, 66, 67, 97]);
  opts.push(255);
  while (opts.length < 64) opts.push(0); // BOOTP minimum of 300 bytes (RFC 951)
  const out = new Uint8Array(head.length + opts.length);
  out.set(head);
  out.set(opts, head.length);
  return out;
}

function cstr(b: Uint8Array, o: number, n: number): string {
  const s = b.subarray(o, o + n);
  const z = s.indexOf(0);
  return Buffer.from(z < 0 ? s : s.subarray(0, z)).toString('latin1');
}

export function decodeReply(b: Uint8Array, from: string): ProbeReply | null {
  if (b.length < 240 || b[0] !== 2) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const options: Record<string, string> = {};
  for (let i = 240; i < b.length; ) {
    const code = b[i]!;
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const len = b[i + 1];
    if (len === undefined || i + 2 + len > b.length) break;
    options[String(code)] = Buffer.from(b.subarray(i + 2, i + 2 + len)).toString('hex');
    i += 2 + len;
  }
  const mt = options['53'];
  return {
    from,
    op: b[0]!,
    xid: dv.getUint32(4),
    flags: dv.getUint16(10),
    ciaddr: ipStr(b, 12),
    yiaddr: ipStr(b, 16),
    siaddr: ipStr(b, 20),
    chaddr: Array.from(b.subarray(28, 34), (x) => x.toString(16).padStart(2, '0')).join(':'),
    sname: cstr(b, 44, 64),
    file: cstr(b, 108, 128),
    msgType: mt ? Number.parseInt(mt, 16) : null,
    options,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ProbeSpec;
  const xid = randomBytes(4).readUInt32BE(0);
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(68, '0.0.0.0', resolve));
  sock.setBroadcast(true);
  sock.on('message', (msg, r) => {
    const reply = decodeReply(msg, r.address);
    if (reply && reply.xid === xid) process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
  await new Promise<void>((resolve, reject) =>
    sock.send(encodeRequest(spec, xid), 67, '255.255.255.255', (err) => (err ? reject(err) : resolve())),
  );
  await new Promise((r) => setTimeout(r, spec.listenMs ?? 2000));
  sock.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`dhcp-probe: ${String(err)}\n`);
    process.exit(2);
  });
}
