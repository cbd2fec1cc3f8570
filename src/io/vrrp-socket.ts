/**
 * The VRRP transport over real sockets (ARCHITECTURE D2), set up as keepalived sets up its
 * own (keepalived/vrrp/vrrp.c open_vrrp_send_socket / open_vrrp_read_socket).
 *
 * IPv4: one raw socket per interface, IP protocol 112, IP_HDRINCL (lvsd writes the IP
 * header: TOS 0xc0, TTL 255, source = primary or configured address), SO_BINDTODEVICE,
 * IP_MULTICAST_ALL off, IP_MULTICAST_IF / IP_MULTICAST_TTL 255 / IP_MULTICAST_LOOP off,
 * and IP_ADD_MEMBERSHIP of 224.0.0.18 on the interface (struct ip_mreqn). The same socket
 * receives: a raw IPv4 socket hands up the whole datagram, TTL included.
 *
 * IPv6: a raw AF_INET6 socket sends (IPV6_CHECKSUM at offset 6 so the kernel sums the
 * pseudo-header for the source it picks, hop limit 255, IPV6_MULTICAST_IF, loop off,
 * group joined for MLD snooping). A raw IPv6 socket cannot report the hop limit without
 * recvmsg ancillary data, which raw-socket does not offer, so adverts are received from an
 * AF_PACKET socket (the project's addon) bound to ETH_P_IPV6, which sees the whole frame.
 *
 * Every socket is held by its channel and every channel by the transport: an unreferenced
 * raw-socket is garbage-collected and closed without a word (D2).
 */
import { createRequire } from 'node:module';
import { formatIPv6, parseIPv4, parseIPv6 } from '../lib/ip.js';
import { allocRxBatch, META_PKTTYPE, META_STRIDE, openPacketSocket, PKT_OTHERHOST, type PacketSocket } from './af-packet.js';
import { parseIPv4Packet, parseIPv6Packet, VRRP_PROTOCOL } from '../vrrp/packet.js';
import type { ChannelInput, VrrpChannel, VrrpChannelSpec, VrrpTransport } from '../vrrp/transport.js';

// Linux socket option numbers (raw-socket exports only a few of them).
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const SO_PRIORITY = 12;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;
const IP_MULTICAST_ALL = 49;
const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20;
const IPV6_DROP_MEMBERSHIP = 21;
const ETH_P_IPV6 = 0x86dd;
/** Most receive batches drained per readable callback (bounds one callback's work). */
const MAX_DRAIN = 64;
/** TC_PRIO_CONTROL, as keepalived's if_setsockopt_priority. */
const TC_PRIO_CONTROL = 7;

/** The parts of raw-socket used here (it ships no types). */
interface RawSocket {
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): void;
  on(ev: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', fn: (err: Error) => void): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(opts: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawSocketModule | null = null;
function raw(): RawSocketModule {
  rawModule ??= createRequire(import.meta.url)('raw-socket') as RawSocketModule;
  return rawModule;
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex } (little-endian ifindex). */
function ipMreqn(group: string | null, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  if (group) b.writeUInt32BE(parseIPv4(group)!, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** struct ipv6_mreq { in6_addr multiaddr; int ifindex }. */
function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  Buffer.from(parseIPv6(group)!).copy(b, 0);
  b.writeInt32LE(ifindex, 16);
  return b;
}

function devName(ifname: string): Buffer {
  return Buffer.from(`${ifname}\0`, 'latin1');
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * raw-socket queues a send and writes it on the socket's next writable poll; closing the
 * socket before that drops it. The last advert (priority 0 on a clean stop, RFC 5798
 * §6.4.3) is sent just before the channel closes, so a channel closes its socket only once
 * its sends have gone out (bounded by FLUSH_MS).
 */
const FLUSH_MS = 500;

class SendFlush {
  private pending = 0;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly closeSocket: () => void;

  constructor(closeSocket: () => void) {
    this.closeSocket = closeSocket;
  }

  /** Wraps a send's completion callback. */
  track(done?: (err: Error | null) => void): (err: Error | null) => void {
    this.pending++;
    return (err) => {
      this.pending--;
      done?.(err);
      if (this.closing && this.pending === 0) this.finish();
    };
  }

  /** Closes the socket now, or once the queued sends are out. */
  close(): void {
    this.closing = true;
    if (this.pending === 0) this.finish();
    else this.timer = setTimeout(() => this.finish(), FLUSH_MS);
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.closing) return;
    this.closing = false;
    this.closeSocket();
  }
}

class Ipv4Channel implements VrrpChannel {
  readonly spec: VrrpChannelSpec;
  private readonly sock: RawSocket;
  private readonly flush: SendFlush;
  private group: string | null = null;
  private closed = false;

  constructor(spec: VrrpChannelSpec, onInput: (i: ChannelInput) => void, onError: (e: Error) => void) {
    this.spec = spec;
    const r = raw();
    this.sock = r.createSocket({ protocol: VRRP_PROTOCOL, addressFamily: r.AddressFamily.IPv4, bufferSize: 65536 });
    this.flush = new SendFlush(() => this.sock.close());
    try {
      this.sock.setOption(IPPROTO_IP, IP_HDRINCL, 1);
      this.sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, devName(spec.ifname), spec.ifname.length + 1);
      this.sock.setOption(IPPROTO_IP, IP_MULTICAST_ALL, 0);
      this.sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      this.sock.setOption(IPPROTO_IP, IP_MULTICAST_TTL, 255);
      this.sock.setOption(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(null, spec.ifindex), 12);
      this.sock.setOption(SOL_SOCKET, SO_PRIORITY, TC_PRIO_CONTROL);
      this.setMulticast(spec.multicastGroup);
    } catch (e) {
      this.sock.close();
      throw e;
    }
    this.sock.on('message', (buf, source) => {
      // raw-socket reuses its receive buffer: copy the (small) datagram before handing it up
      onInput({ ...parseIPv4Packet(Uint8Array.from(buf)), source });
    });
    this.sock.on('error', (e) => onError(e));
  }

  send(packet: Uint8Array, dst: string, done?: (err: Error | null) => void): void {
    if (this.closed) {
      done?.(new Error('channel closed'));
      return;
    }
    const finished = this.flush.track(done);
    try {
      this.sock.send(asBuffer(packet), 0, packet.length, dst, (err) => finished(err ?? null));
    } catch (e) {
      finished(e as Error);
    }
  }

  setMulticast(group: string | null): void {
    if (group === this.group) return;
    if (this.group) this.sock.setOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, ipMreqn(this.group, this.spec.ifindex), 12);
    if (group) this.sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(group, this.spec.ifindex), 12);
    this.group = group;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.setMulticast(null);
    } catch {
      /* the interface may be gone */
    }
    this.flush.close();
  }
}

class Ipv6Channel implements VrrpChannel {
  readonly spec: VrrpChannelSpec;
  private readonly tx: RawSocket;
  private readonly rx: PacketSocket;
  private readonly flush: SendFlush;
  private group: string | null = null;
  private closed = false;

  constructor(spec: VrrpChannelSpec, onInput: (i: ChannelInput) => void, onError: (e: Error) => void) {
    this.spec = spec;
    const r = raw();
    this.tx = r.createSocket({ protocol: VRRP_PROTOCOL, addressFamily: r.AddressFamily.IPv6, bufferSize: 4096 });
    this.flush = new SendFlush(() => this.tx.close());
    try {
      this.tx.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, 6);
      this.tx.setOption(SOL_SOCKET, SO_BINDTODEVICE, devName(spec.ifname), spec.ifname.length + 1);
      this.tx.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, spec.ifindex);
      this.tx.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
      this.tx.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      this.tx.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
      this.tx.setOption(SOL_SOCKET, SO_PRIORITY, TC_PRIO_CONTROL);
      this.setMulticast(spec.multicastGroup);
    } catch (e) {
      this.tx.close();
      throw e;
    }
    // The raw socket also queues what it receives; the AF_PACKET socket is the one we read.
    this.tx.on('message', () => {});
    this.tx.on('error', (e) => onError(e));
    this.rx = openPacketSocket(spec.ifname, { protocol: ETH_P_IPV6, ignoreOutgoing: true, multicast: ['33:33:00:00:00:12'] });
    const batch = this.rx.attachRx(allocRxBatch(16, 2048));
    this.rx.start(() => {
      for (let guard = 0; guard < MAX_DRAIN; guard++) {
        const n = this.rx.recvBatch();
        if (n <= 0) break;
        for (let i = 0; i < n; i++) {
          if (batch.meta[i * META_STRIDE + META_PKTTYPE] === PKT_OTHERHOST) continue;
          const off = batch.offsets[i]!;
          const input = ipv6FrameInput(batch.buf.subarray(off, off + batch.lengths[i]!));
          if (input) onInput(input);
        }
      }
    });
  }

  send(packet: Uint8Array, dst: string, done?: (err: Error | null) => void): void {
    if (this.closed) {
      done?.(new Error('channel closed'));
      return;
    }
    const to = dst.toLowerCase().startsWith('fe80:') ? `${dst}%${this.spec.ifname}` : dst;
    const finished = this.flush.track(done);
    try {
      this.tx.send(asBuffer(packet), 0, packet.length, to, (err) => finished(err ?? null));
    } catch (e) {
      finished(e as Error);
    }
  }

  setMulticast(group: string | null): void {
    if (group === this.group) return;
    if (this.group) this.tx.setOption(IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, ipv6Mreq(this.group, this.spec.ifindex), 20);
    if (group) this.tx.setOption(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq(group, this.spec.ifindex), 20);
    this.group = group;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.setMulticast(null);
    } catch {
      /* the interface may be gone */
    }
    this.rx.stop();
    this.rx.close();
    this.flush.close();
  }
}

/**
 * What one received IPv6 Ethernet frame means to VRRP: null when it is other IPv6 traffic
 * (next header not 112: ND, MLD...), else the parsed packet or its drop reason. A frame too
 * short to hold even the next-header byte is reported as truncated, as a raw IPv4 socket's
 * short datagrams are. The bytes are copied (the receive ring is reused).
 */
export function ipv6FrameInput(frame: Uint8Array): ChannelInput | null {
  // Ethernet header (14 bytes) then IPv6; next header at IPv6 byte 6
  if (frame.length >= 14 + 7 && frame[14 + 6] !== VRRP_PROTOCOL) return null;
  const ip = frame.slice(14);
  return { ...parseIPv6Packet(ip), ...(ip.length >= 24 ? { source: formatIPv6(ip.subarray(8, 24)) } : {}) };
}

/** VRRP over raw sockets (IPv4) and raw + AF_PACKET sockets (IPv6). */
export class RawVrrpTransport implements VrrpTransport {
  /** Every open channel, strongly referenced until closed. */
  private readonly channels = new Set<VrrpChannel>();

  open(spec: VrrpChannelSpec, onInput: (i: ChannelInput) => void, onError: (e: Error) => void): VrrpChannel {
    const ch = spec.family === 'ipv4' ? new Ipv4Channel(spec, onInput, onError) : new Ipv6Channel(spec, onInput, onError);
    const channels = this.channels;
    channels.add(ch);
    const close = ch.close.bind(ch);
    ch.close = () => {
      channels.delete(ch);
      close();
    };
    return ch;
  }

  /** Number of open channels (for tests). */
  get openChannels(): number {
    return this.channels.size;
  }
}
