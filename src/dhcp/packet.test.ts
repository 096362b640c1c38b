import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureNames, loadCapture, prng } from '../../test/helpers/captures.ts';
import { DecodeError } from '../lib/errors.ts';
import { macToBytes } from '../lib/net.ts';
import { ClientArch } from './archtypes.ts';
import { MessageType, Op, Opt } from './constants.ts';
import { decodeUserClasses, Options } from './options.ts';
import { clientMac, type DhcpPacket, decode, encode, encodingLength, messageType } from './packet.ts';

/** encode → decode gives the same packet, and encodingLength is the encoded size. */
function roundTrip(p: DhcpPacket): void {
  const bytes = encode(p);
  assert.equal(bytes.length, encodingLength(p));
  const back = decode(bytes);
  assert.deepEqual(normalize(back), normalize(p));
}

const normalize = (p: DhcpPacket) => ({
  ...p,
  chaddr: [...p.chaddr],
  options: p.options.entries().map(([c, v]) => [c, [...v]]),
});

function packet(over: Partial<DhcpPacket> = {}): DhcpPacket {
  const chaddr = new Uint8Array(16);
  chaddr.set(macToBytes('52:54:00:12:34:56'));
  return {
    op: Op.BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0xdeadbeef,
    secs: 4,
    flags: 0x8000,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr,
    sname: '',
    file: '',
    options: new Options().setU8(Opt.MESSAGE_TYPE, MessageType.DISCOVER),
    ...over,
  };
}

describe('DHCP packet codec', () => {
  it('round-trips a minimal DISCOVER and pads to the 300-byte BOOTP minimum', () => {
    const p = packet();
    roundTrip(p);
    assert.equal(encode(p).length, 300);
  });

  it('round-trips every field, long options (RFC 3396 split) and file/sname', () => {
    const long = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    roundTrip(
      packet({
        op: Op.BOOTREPLY,
        hops: 3,
        ciaddr: 0x0a000001,
        yiaddr: 0x0a000064,
        siaddr: 0x0a000002,
        giaddr: 0x0a000003,
        sname: 'seed',
        file: 'undionly.kpxe',
        options: new Options()
          .setU8(Opt.MESSAGE_TYPE, MessageType.ACK)
          .setIp(Opt.SERVER_ID, 0x0a000001)
          .set(Opt.VENDOR_SPECIFIC, long)
          .setString(Opt.VENDOR_CLASS, 'PXEClient'),
      }),
    );
  });

  it('rejects a file name longer than the BOOTP field instead of truncating it', () => {
    assert.throws(() => encode(packet({ file: 'x'.repeat(128) })), RangeError);
  });

  it('reads options overloaded into the file and sname fields (RFC 2132 9.3)', () => {
    const bytes = encode(
      packet({ options: new Options().setU8(Opt.MESSAGE_TYPE, 1).setU8(Opt.OVERLOAD, 3) }),
    );
    const fileAt = 108; // op..sname is 44 + 64 bytes
    bytes.set([Opt.HOSTNAME, 2, 0x68, 0x69, Opt.END], fileAt);
    bytes.set([Opt.DOMAIN_NAME, 1, 0x78, Opt.END], 44);
    const p = decode(bytes);
    assert.equal(p.options.string(Opt.HOSTNAME), 'hi');
    assert.equal(p.options.string(Opt.DOMAIN_NAME), 'x');
    assert.equal(p.file, '');
  });
});

describe('DHCP packets recorded from real firmware and clients', () => {
  for (const name of captureNames()) {
    it(`${name}: every DHCP packet decodes and round-trips`, () => {
      const dhcp = loadCapture(name).filter((p) => p.proto === 'dhcp');
      assert.ok(dhcp.length >= 4, 'at least DISCOVER, OFFER, REQUEST, ACK');
      for (const c of dhcp) {
        const p = decode(c.bytes);
        const type = messageType(p);
        assert.ok(type && c.summary.startsWith(`DHCP${type}`), `${c.summary} decoded as ${type}`);
        assert.ok(clientMac(p), 'Ethernet chaddr');
        roundTrip(p);
      }
    });
  }

  it('iPXE (BIOS ROM) sends raw user class "iPXE", arch 0 and option 175', () => {
    const p = decode(loadCapture('ipxe-bios')[0]!.bytes);
    assert.equal(messageType(p), 'DISCOVER');
    assert.deepEqual(decodeUserClasses(p.options.get(Opt.USER_CLASS)), ['iPXE']);
    assert.deepEqual(p.options.u16s(Opt.CLIENT_ARCH), [ClientArch.X86_BIOS]);
    assert.equal(p.options.string(Opt.VENDOR_CLASS), 'PXEClient:Arch:00000:UNDI:002001');
    assert.ok(p.options.has(Opt.IPXE_ENCAP));
  });

  it('OVMF firmware PXE sends arch 7, no user class, broadcast flag', () => {
    const p = decode(loadCapture('ovmf-pxe-norom')[0]!.bytes);
    assert.deepEqual(p.options.u16s(Opt.CLIENT_ARCH), [ClientArch.EFI_BC]);
    assert.equal(p.options.string(Opt.VENDOR_CLASS), 'PXEClient:Arch:00007:UNDI:003000');
    assert.equal(p.options.has(Opt.USER_CLASS), false);
    assert.equal(p.flags, 0x8000);
  });
});

describe('DHCP decoder on hostile input', () => {
  const real = loadCapture('ipxe-bios')[0]!.bytes;

  it('every truncation of a real packet decodes or throws DecodeError, nothing else', () => {
    for (let n = 0; n < real.length; n++) {
      try {
        decode(real.subarray(0, n));
      } catch (err) {
        assert.ok(err instanceof DecodeError, `length ${n}: ${err}`);
      }
    }
  });

  it('5000 random mutations throw only DecodeError', () => {
    const rnd = prng(42);
    for (let i = 0; i < 5000; i++) {
      const b = Uint8Array.from(real);
      for (let k = 0; k < 1 + (rnd() % 8); k++) b[240 + (rnd() % (b.length - 240))] = rnd() & 0xff;
      if (i % 2) b[2] = rnd() & 0xff; // hlen
      try {
        decode(b);
      } catch (err) {
        assert.ok(err instanceof DecodeError, `mutation ${i}: ${err}`);
      }
    }
  });
});
