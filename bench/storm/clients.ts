/**
 * The firmware side of the storm: what a PXE ROM, then iPXE, then the booted OS send. One
 * DHCP relay socket is shared by every machine (replies demultiplexed by xid and MAC); TFTP
 * and HTTP go out from each machine's own leased address, so the seed sees what it would see
 * on a real network and can tie every step to the machine.
 */
import { createSocket, type Socket } from 'node:dgram';
import http from 'node:http';
import {
  type DhcpPacket,
  decode,
  encode,
  encodeUserClasses,
  MessageType,
  type MessageTypeName,
  messageType,
  Op,
  Opt,
  Options,
} from '../../src/dhcp/index.ts';
import { ipToString, macToBytes } from '../../src/lib/net.ts';
import { encode as tftpEncode } from '../../src/tftp/packet.ts';

/** Retransmission waits of one DHCP message: PXE 2.1 section 2.2.1 (4, 8, 16, 32 s). */
export const DHCP_WAITS_MS = [4000, 8000, 16000, 32000] as const;
/** RFC 2131 section 4.1: each wait is randomized by ±1 s so clients do not retry in lockstep. */
const DHCP_JITTER_MS = 1000;
/** TFTP retransmission of the last packet (RRQ or ACK); PXE ROMs use a few seconds, doubling. */
export const TFTP_WAITS_MS = [1000, 2000, 4000, 8000, 8000] as const;
const TFTP_BLKSIZE = 1432; // what the captured PXE/iPXE ROMs ask for (1500 MTU less headers)

/** PXE vendor class of a BIOS UNDI ROM (PXE 2.1 section 2.2.1, as captured from SeaBIOS). */
const PXE_VENDOR_CLASS = 'PXEClient:Arch:00000:UNDI:002001';
/** Parameter request list copied from the iPXE capture (test/fixtures/captures/ipxe-bios-undionly.json). */
const PRL = [
  1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203,
];
/** iPXE's option 175 feature list from the same capture: encapsulated sub-options. */
const IPXE_175 = Buffer.from(
  'b105011af41000eb03010000170101220101130101110101270101190101290101100102210101150101180101120101',
  'hex',
);

export interface Machine {
  index: number;
  mac: string;
  uuid: string;
  serial: string;
  /** Leased address from the PXE DHCP exchange. */
  ip?: string;
}

/** Deterministic identity of machine `i`: locally administered MAC, a UUID and a serial. */
export function machineIdentity(i: number): Machine {
  const b = [0x02, 0x5e, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff];
  const mac = b.map((x) => x.toString(16).padStart(2, '0')).join(':');
  const h = i.toString(16).padStart(12, '0');
  return {
    index: i,
    mac,
    uuid: `5e0a5e0a-0000-4000-8000-${h}`,
    serial: `STORM${String(i).padStart(6, '0')}`,
  };
}

function uuidBytes(uuid: string): Uint8Array {
  return Uint8Array.from([0, ...Buffer.from(uuid.replaceAll('-', ''), 'hex')]);
}

/** dgram's dns.lookup per datagram, skipped: every destination here is an address literal. */
const literalLookup = ((host: string, _family: unknown, cb: (e: null, a: string, f: number) => void) =>
  cb(null, host, 4)) as unknown as typeof import('node:dns').lookup;

export type Phase = 'pxe' | 'ipxe';

export interface DhcpResult {
  ip: string;
  file: string;
  siaddr: string;
  retries: number;
}

interface Waiter {
  want: MessageTypeName;
  resolve: (p: DhcpPacket) => void;
}

/**
 * A DHCP relay agent (RFC 1542 section 4): firmware broadcasts reach it, it forwards them to the
 * seed with giaddr set to its own address, and the seed unicasts replies back to giaddr:67.
 */
export class Relay {
  private readonly waiting = new Map<string, Waiter>();
  private xid = (Math.random() * 0xffffffff) >>> 0;
  received = 0;
  unmatched = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly giaddr: number,
    private readonly server: string,
  ) {
    socket.on('message', (msg) => this.onMessage(msg));
  }

  static open(relayAddress: string, giaddr: number, server: string): Promise<Relay> {
    return new Promise((resolve, reject) => {
      const s = createSocket({
        type: 'udp4',
        recvBufferSize: 4 << 20,
        sendBufferSize: 4 << 20,
        lookup: literalLookup,
      });
      s.once('error', reject);
      s.bind(67, relayAddress, () => resolve(new Relay(s, giaddr, server)));
    });
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(msg: Buffer): void {
    this.received++;
    let p: DhcpPacket;
    try {
      p = decode(msg);
    } catch {
      this.unmatched++;
      return;
    }
    const key = `${p.xid}/${ipToStringMac(p.chaddr)}`;
    const w = this.waiting.get(key);
    const type = messageType(p);
    if (!w || (type !== w.want && type !== 'NAK')) {
      this.unmatched++; // a late duplicate answer to a retransmission
      return;
    }
    this.waiting.delete(key);
    w.resolve(p);
  }

  /** DISCOVER → OFFER → REQUEST → ACK with firmware's retransmissions; throws with a reason. */
  async dora(m: Machine, phase: Phase): Promise<DhcpResult> {
    const xid = this.nextXid();
    let retries = 0;
    const offer = await this.exchange(m, xid, phase, 'DISCOVER', 'OFFER', undefined, () => retries++);
    if (messageType(offer) !== 'OFFER') throw new Error('NAK to DISCOVER');
    const serverId = offer.options.ip(Opt.SERVER_ID);
    if (serverId === undefined) throw new Error('OFFER without server id');
    const ack = await this.exchange(
      m,
      xid,
      phase,
      'REQUEST',
      'ACK',
      { serverId, requested: offer.yiaddr },
      () => retries++,
    );
    if (messageType(ack) === 'NAK') throw new Error(`NAK: ${ack.options.string(Opt.MESSAGE) ?? ''}`);
    const file = ack.file || (ack.options.string(Opt.BOOTFILE_NAME) ?? '');
    return { ip: ipToString(ack.yiaddr), file, siaddr: ipToString(ack.siaddr), retries };
  }

  private nextXid(): number {
    this.xid = (this.xid + 0x9e3779b1) >>> 0; // distinct for 2^32 exchanges, not sequential
    return this.xid;
  }

  private async exchange(
    m: Machine,
    xid: number,
    phase: Phase,
    type: MessageTypeName,
    want: MessageTypeName,
    req: { serverId: number; requested: number } | undefined,
    onRetry: () => void,
  ): Promise<DhcpPacket> {
    const bytes = encode(this.packet(m, xid, phase, type, req));
    const key = `${xid}/${m.mac}`;
    const started = Date.now();
    for (let attempt = 0; attempt < DHCP_WAITS_MS.length; attempt++) {
      if (attempt > 0) onRetry();
      // secs (RFC 2131 section 2): seconds since the client began; relays may use it
      bytes[8] = 0;
      bytes[9] = Math.min(255, Math.floor((Date.now() - started) / 1000));
      const wait = DHCP_WAITS_MS[attempt]! + (Math.random() * 2 - 1) * DHCP_JITTER_MS;
      const reply = await new Promise<DhcpPacket | null>((resolve) => {
        const t = setTimeout(() => {
          this.waiting.delete(key);
          resolve(null);
        }, wait);
        this.waiting.set(key, {
          want,
          resolve: (p) => {
            clearTimeout(t);
            resolve(p);
          },
        });
        this.socket.send(bytes, 67, this.server);
      });
      if (reply) return reply;
    }
    throw new Error(`no ${want} after ${DHCP_WAITS_MS.length} ${type}s`);
  }

  private packet(
    m: Machine,
    xid: number,
    phase: Phase,
    type: MessageTypeName,
    req?: { serverId: number; requested: number },
  ): DhcpPacket {
    const chaddr = new Uint8Array(16);
    chaddr.set(macToBytes(m.mac));
    const o = new Options()
      .setU8(Opt.MESSAGE_TYPE, MessageType[type])
      .setU16(Opt.MAX_MESSAGE_SIZE, 1472)
      .setU16(Opt.CLIENT_ARCH, 0) // RFC 4578 2.1: x86 BIOS
      .set(Opt.CLIENT_NDI, Uint8Array.of(1, 2, 1)) // RFC 4578 2.2: UNDI 2.1
      .setString(Opt.VENDOR_CLASS, PXE_VENDOR_CLASS);
    if (phase === 'ipxe') o.set(Opt.USER_CLASS, encodeUserClasses(['iPXE']));
    o.set(Opt.PARAMETER_LIST, Uint8Array.from(PRL));
    if (phase === 'ipxe') o.set(Opt.IPXE_ENCAP, IPXE_175);
    o.set(Opt.CLIENT_ID, Uint8Array.from([1, ...macToBytes(m.mac)]));
    o.set(Opt.CLIENT_UUID, uuidBytes(m.uuid));
    if (req) o.setIp(Opt.SERVER_ID, req.serverId).setIp(Opt.REQUESTED_IP, req.requested);
    return {
      op: Op.BOOTREQUEST,
      htype: 1,
      hlen: 6,
      hops: 1, // one relay on the way (RFC 1542 section 4.1.1)
      xid,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: this.giaddr,
      chaddr,
      sname: '',
      file: '',
      options: o,
    };
  }
}

function ipToStringMac(chaddr: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + chaddr[i]!.toString(16).padStart(2, '0');
  return s;
}

export interface TftpResult {
  bytes: number;
  retries: number;
}

/**
 * Reads `file` over TFTP from `local` (the machine's own address) the way a PXE ROM does:
 * RRQ with blksize and tsize (RFC 2348/2349), ACK 0 after the OACK, lock-step ACKs, and every
 * DATA byte compared with `expected` (the file as it is on disk).
 */
export function tftpGet(local: string, server: string, file: string, expected: Buffer): Promise<TftpResult> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', lookup: literalLookup });
    let tid = 0; // the server's transfer port, learnt from its first answer (RFC 1350 section 4)
    let blksize = 512;
    let next = 1;
    let got = 0;
    let retries = 0;
    let attempt = 0;
    let last: Uint8Array = tftpEncode({
      op: 'RRQ',
      filename: file,
      mode: 'octet',
      options: new Map([
        ['blksize', String(TFTP_BLKSIZE)],
        ['tsize', '0'],
      ]),
    });
    let lastTo = 69;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      s.close();
      if (err) reject(err);
      else resolve({ bytes: got, retries });
    };
    const send = (): void => {
      clearTimeout(timer);
      s.send(last, lastTo, server);
      timer = setTimeout(() => {
        if (attempt >= TFTP_WAITS_MS.length - 1)
          return finish(new Error(`timeout waiting for block ${next}`));
        attempt++;
        retries++;
        send();
      }, TFTP_WAITS_MS[attempt]);
    };
    const ack = (block: number): void => {
      last = Uint8Array.of(0, 4, block >> 8, block & 0xff);
      lastTo = tid;
      attempt = 0;
      send();
    };
    s.on('error', (err) => finish(err));
    s.on('message', (msg, from) => {
      if (tid === 0) tid = from.port;
      else if (from.port !== tid) {
        // a second transfer opened by our retransmitted RRQ: RFC 1350 says answer ERROR 5
        s.send(tftpEncode({ op: 'ERROR', code: 5, message: 'Unknown transfer ID' }), from.port, server);
        return;
      }
      const op = msg.readUInt16BE(0);
      if (op === 6) {
        // OACK: RFC 2347 says the client answers with ACK 0
        const opts = msg.subarray(2).toString('latin1').split('\0');
        for (let i = 0; i + 1 < opts.length; i += 2) {
          const k = opts[i]!.toLowerCase();
          if (k === 'blksize') blksize = Number(opts[i + 1]);
          if (k === 'tsize' && Number(opts[i + 1]) !== expected.length)
            return finish(new Error(`tsize ${opts[i + 1]}, file has ${expected.length}`));
        }
        if (next === 1) ack(0);
        return;
      }
      if (op === 5)
        return finish(new Error(`TFTP error ${msg.readUInt16BE(2)}: ${msg.subarray(4).toString('latin1')}`));
      if (op !== 3) return;
      const block = msg.readUInt16BE(2);
      if (block !== (next & 0xffff)) {
        if (block === ((next - 1) & 0xffff)) ack(block); // our ACK was lost: repeat it
        return;
      }
      const data = msg.subarray(4);
      if (
        got + data.length > expected.length ||
        expected.compare(data, 0, data.length, got, got + data.length) !== 0
      )
        return finish(new Error(`block ${block} differs from the file`));
      got += data.length;
      next++;
      if (data.length < blksize) {
        if (got !== expected.length)
          return finish(new Error(`short file: ${got} of ${expected.length} bytes`));
        // The final ACK ends the server's transfer (RFC 1350 section 6); close only once it has
        // left (dgram sends after a lookup tick, a close before that would drop it). A ROM that
        // has its file moves on without waiting for a dallying retransmission, and so do we.
        clearTimeout(timer);
        s.send(Uint8Array.of(0, 4, block >> 8, block & 0xff), tid, server, () => finish());
        return;
      }
      ack(block);
    });
    s.bind(0, local, () => send());
  });
}

export interface HttpReply {
  status: number;
  body: string;
}

/** One HTTP request through `agent` (keep-alive, one socket per machine, from its address). */
export function httpRequest(
  agent: http.Agent,
  url: string,
  local: string,
  method = 'GET',
  body?: string,
  timeoutMs = 30_000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        agent,
        method,
        localAddress: local,
        headers:
          body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * What iPXE substitutes into the `/boot.ipxe` chain URL (ipxe.org/cfg): this machine's
 * settings as a BIOS undionly.kpxe on a QEMU-like box would report them.
 */
export function expandIpxe(template: string, m: Machine): string {
  const settings: Record<string, string> = {
    'netX/mac': m.mac,
    uuid: m.uuid,
    'serial:uristring': m.serial,
    'asset:uristring': '',
    'manufacturer:uristring': 'QEMU',
    'product:uristring': 'Standard%20PC%20%28i440FX%20%2B%20PIIX%2C%201996%29',
    buildarch: 'i386',
    platform: 'pcbios',
    'netX/chip': 'undionly',
    'netX/ip': m.ip ?? '',
  };
  return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => settings[name] ?? '');
}
