/**
 * AF_PACKET sockets (ETH_P_ALL, PACKET_IGNORE_OUTGOING, bound to one interface) with
 * batched, allocation-free I/O, over the project's addon (ARCHITECTURE D3, docs/native.md).
 *
 * Receive: the caller allocates an {@link RxBatch} once and attaches it; each
 * `recvBatch()` fills it and returns the frame count. Frame i is
 * `batch.buf[batch.offsets[i] .. batch.offsets[i] + batch.lengths[i]]`, with its packet
 * type, ifindex, status and VLAN in `batch.meta[i * META_STRIDE + META_*]`. The same
 * shape serves both receive paths: recvmmsg into fixed slots, or the zero-copy TPACKET_V3
 * ring (`ring` option), whose frames stay valid until the next `recvBatch()`.
 *
 * With `vnetHdr`, every received frame is prefixed by a 10-byte virtio_net_hdr and every
 * sent frame must be (see {@link VNET_HDR_LEN} and docs/native.md).
 */
import { LvsdError } from '../lib/errors.js';
import { formatMac, parseMac } from '../lib/mac.js';
import { loadNative, type NativePacketSocket } from './native.js';

export { META_IFINDEX, META_PKTTYPE, META_STATUS, META_VLAN } from './native.js';

/** Uint32 entries per frame in a batch's `meta` array. */
export const META_STRIDE = 4;
/** Most frames one recvmmsg/sendmmsg call handles (the addon's MAX_BATCH). */
export const MAX_BATCH = 1024;

/** sll_pkttype values (linux/if_packet.h). */
export const PKT_HOST = 0;
export const PKT_BROADCAST = 1;
export const PKT_MULTICAST = 2;
export const PKT_OTHERHOST = 3;

/** Bits of meta[META_STATUS] (linux/if_packet.h TP_STATUS_*; auxdata or ring only). */
export const STATUS_CSUMNOTREADY = 0x8;
export const STATUS_VLAN_VALID = 0x10;
export const STATUS_CSUM_VALID = 0x80;
/** Set by the addon when a frame was longer than its slot (or ring frame) and was cut. */
export const STATUS_TRUNCATED = 0x80000000;

/** struct virtio_net_hdr (linux/virtio_net.h): its length and field offsets (little-endian u16s). */
export const VNET_HDR_LEN = 10;
export const VNET_FLAGS = 0;
export const VNET_GSO_TYPE = 1;
export const VNET_HDR_LEN_FIELD = 2;
export const VNET_GSO_SIZE = 4;
export const VNET_CSUM_START = 6;
export const VNET_CSUM_OFFSET = 8;
/** VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum field holds the pseudo-header sum only. */
export const VNET_F_NEEDS_CSUM = 1;
/** VIRTIO_NET_HDR_F_DATA_VALID: the checksum was verified. */
export const VNET_F_DATA_VALID = 2;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP = 3;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;

/** Options of {@link openPacketSocket}. */
export interface PacketSocketOptions {
  /** Ethertype bound (default ETH_P_ALL = 3). */
  readonly protocol?: number;
  /** PACKET_IGNORE_OUTGOING (default true): don't see our own and the host's transmissions. */
  readonly ignoreOutgoing?: boolean;
  /** Promiscuous membership (dropped automatically when the socket closes). */
  readonly promisc?: boolean;
  /** Multicast MACs to join (PACKET_MR_MULTICAST), e.g. '01:00:5e:00:00:12'. */
  readonly multicast?: readonly string[];
  /** PACKET_VNET_HDR: frames carry a virtio_net_hdr prefix both ways (GSO/GRO super-frames, partial checksums). */
  readonly vnetHdr?: boolean;
  /** PACKET_AUXDATA: fill meta status (checksum state) and VLAN on the recvmmsg path. */
  readonly auxdata?: boolean;
  readonly rcvbufBytes?: number;
  readonly sndbufBytes?: number;
  /** PACKET_QDISC_BYPASS: sends skip the interface's qdisc (no traffic shaping, no qdisc lock). */
  readonly qdiscBypass?: boolean;
  /**
   * A TPACKET_V2 transmit ring (PACKET_TX_RING) behind sendBatch(): frames are copied into
   * ring frames of `frameSize` bytes (default 2048) and one send() hands the batch over;
   * larger frames (GSO super-frames) go by sendmsg in order. Needs `ring.version` 2 or no ring.
   */
  readonly txRing?: { readonly frameCount?: number; readonly frameSize?: number };
  /**
   * PACKET_FANOUT group (FANOUT_FLAG_DEFRAG stays off). Mode 'cbpf': the group's classic BPF
   * program picks the member (set it with {@link PacketSocket.setFanoutProgram}).
   */
  readonly fanout?: { readonly group: number; readonly mode?: 'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'qm' | 'cbpf'; readonly rollover?: boolean };
  /**
   * A receive ring instead of recvmmsg. Version 3 (default): TPACKET_V3 blocks of
   * `blockSize` × `blockCount`, each handed over when full or after `retireMs`. Version 2:
   * TPACKET_V2, `frameCount` frames of `frameSize` bytes (default 68 KiB with vnetHdr, so a
   * GSO super-frame fits; else 4 KiB), each handed over as soon as it is written.
   */
  readonly ring?: { readonly version?: 2 | 3; readonly blockSize?: number; readonly blockCount?: number; readonly retireMs?: number; readonly frameSize?: number; readonly frameCount?: number };
}

/** Receive arrays: filled by {@link PacketSocket.recvBatch}. */
export interface RxBatch {
  /** The bytes frames live in: the slot buffer (recvmmsg) or the mapped ring. */
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly meta: Uint32Array;
  /** Most frames one recvBatch() returns. */
  readonly capacity: number;
}

/** Transmit arrays: frame i is buf[offsets[i] .. offsets[i] + lengths[i]]. */
export interface TxBatch {
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

/** Interface facts from SIOCGIF* ioctls in the calling thread's namespace. */
export interface IfFacts {
  readonly name: string;
  readonly index: number;
  /** 6 bytes (empty for non-Ethernet links). */
  readonly mac: Uint8Array;
  readonly macText: string;
  readonly mtu: number;
  readonly up: boolean;
}

/** Looks an interface up; throws LvsdError ERR_IO_NO_INTERFACE when it does not exist. */
export function ifFacts(name: string): IfFacts {
  try {
    const i = loadNative().ifInfo(name);
    const mac = new Uint8Array(i.mac);
    return { name, index: i.index, mac, macText: mac.length === 6 ? formatMac(mac) : '', mtu: i.mtu, up: (i.flags & 1) !== 0 };
  } catch (e) {
    const err = e as { code?: string; errnoName?: string };
    if (err.code === 'ERR_NATIVE_SYSCALL' && err.errnoName === 'ENODEV') {
      throw new LvsdError('ERR_IO_NO_INTERFACE', `no interface ${name}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Moves the calling thread into the network namespace at `path` (e.g. `/run/netns/NAME`),
 * runs fn synchronously, and moves back. Sockets (AF_PACKET, netlink) created inside fn
 * stay in that namespace. For tests, the lab and benches.
 */
export function inNetns<T>(path: string, fn: () => T): T {
  const n = loadNative();
  n.setNetns(path);
  try {
    return fn();
  } finally {
    n.setNetns(null);
  }
}

/** Allocates receive arrays for the recvmmsg path: `frames` slots of `slotSize` bytes. */
export function allocRxBatch(frames = 64, slotSize = 2048): RxBatch {
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_BATCH) throw new LvsdError('ERR_IO_BAD_ARGUMENT', `frames must be 1..${MAX_BATCH}`);
  if (!Number.isInteger(slotSize) || slotSize < 64) throw new LvsdError('ERR_IO_BAD_ARGUMENT', 'slotSize must be an integer >= 64');
  const offsets = new Uint32Array(frames);
  for (let i = 0; i < frames; i++) offsets[i] = i * slotSize;
  return { buf: Buffer.alloc(frames * slotSize), offsets, lengths: new Uint32Array(frames), meta: new Uint32Array(frames * META_STRIDE), capacity: frames };
}

/** Allocates transmit arrays over one buffer of `bytes`, for up to `frames` frames per send. */
export function allocTxBatch(frames = 64, bytes = frames * 2048): TxBatch {
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_BATCH) throw new LvsdError('ERR_IO_BAD_ARGUMENT', `frames must be 1..${MAX_BATCH}`);
  return { buf: Buffer.alloc(bytes), offsets: new Uint32Array(frames), lengths: new Uint32Array(frames) };
}

/** An open AF_PACKET socket bound to one interface. Keep a reference while it is in use. */
export class PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  /** The interface's MAC at open time (6 bytes). */
  readonly mac: Uint8Array;
  readonly vnetHdr: boolean;
  readonly ring: boolean;
  private readonly s: NativePacketSocket;
  private rx: RxBatch | null = null;

  /** Use {@link openPacketSocket}. */
  constructor(ifname: string, facts: IfFacts, s: NativePacketSocket, ring: boolean) {
    this.ifname = ifname;
    this.ifindex = facts.index;
    this.mac = facts.mac;
    this.s = s;
    this.vnetHdr = s.vnetHdr;
    this.ring = ring;
  }

  /** errno of the last recvBatch()/sendBatch() (0 = none; EAGAIN = nothing waiting/queue full). */
  get lastErrno(): number {
    return this.s.lastErrno;
  }

  get closed(): boolean {
    return this.s.closed;
  }

  /**
   * Receive arrays for this socket. recvmmsg path: pass one from {@link allocRxBatch} (or
   * omit for 64 × 2048, or 64 × 65 546 with vnetHdr). Ring path: arrays are created over
   * the mapped ring (`frames` = most frames per call, default 256).
   */
  attachRx(batch?: RxBatch, frames = 256): RxBatch {
    if (this.ring) {
      const b: RxBatch = {
        buf: new Uint8Array(this.s.ringBuffer()),
        offsets: new Uint32Array(frames),
        lengths: new Uint32Array(frames),
        meta: new Uint32Array(frames * META_STRIDE),
        capacity: frames,
      };
      this.s.setRingArrays(b.offsets, b.lengths, b.meta);
      this.rx = b;
      return b;
    }
    const b = batch ?? allocRxBatch(this.vnetHdr ? 16 : 64, this.vnetHdr ? 65536 + VNET_HDR_LEN : 2048);
    const slot = b.offsets.length > 1 ? b.offsets[1]! - b.offsets[0]! : b.buf.length;
    const n = this.s.setRxBuffers(b.buf, slot, b.lengths, b.meta);
    this.rx = { ...b, capacity: Math.min(b.capacity, n) };
    return this.rx;
  }

  /**
   * Receives up to one batch without blocking; returns the number of frames (0 = none
   * waiting). recvmmsg path: at most `max` (default: the batch capacity). Ring path: the
   * frames of the next retired block, up to the arrays' capacity (`max` is ignored); the
   * previous call's frames are handed back to the kernel first.
   */
  recvBatch(max?: number): number {
    if (this.ring) return this.s.ringNext();
    return max === undefined ? this.s.recv() : this.s.recv(max);
  }

  /** The batch recvBatch() fills (after attachRx). */
  get rxBatch(): RxBatch | null {
    return this.rx;
  }

  /** Transmit arrays for sendBatch (any buffer: a TxBatch, or another socket's RxBatch for in-place forwarding). */
  attachTx(batch: TxBatch): number {
    return this.s.setTxBuffers(batch.buf, batch.offsets, batch.lengths);
  }

  /** Sends entries [first, first+count) with one sendmmsg; returns how many the kernel took. */
  sendBatch(count: number, first = 0): number {
    return this.s.send(count, first);
  }

  /** Joins a multicast MAC (PACKET_ADD_MEMBERSHIP). */
  joinMulticast(mac: string): void {
    this.s.addMembership('multicast', macBytes(mac));
  }

  leaveMulticast(mac: string): void {
    this.s.dropMembership('multicast', macBytes(mac));
  }

  setPromisc(on: boolean): void {
    if (on) this.s.addMembership('promisc');
    else this.s.dropMembership('promisc');
  }

  /**
   * Sets the classic BPF program of this socket's fanout group (mode 'cbpf'): two words per
   * instruction (see src/forward/fanout-program.ts). Replaces the group's program for every member.
   */
  setFanoutProgram(program: Uint32Array): void {
    this.s.setFanoutProgram(program);
  }

  /** Kernel counters since the previous call: frames queued, dropped (socket full), ring freezes. */
  stats(): { packets: number; drops: number; freezes: number } {
    return this.s.stats();
  }

  /** Calls onReadable (from the event loop) whenever frames wait; drain with recvBatch() until 0. */
  start(onReadable: () => void): void {
    this.s.start(onReadable);
  }

  stop(): void {
    this.s.stop();
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    this.s.close();
  }
}

function macBytes(mac: string): Uint8Array {
  const b = parseMac(mac);
  if (!b) throw new LvsdError('ERR_IO_BAD_ARGUMENT', `bad MAC address ${mac}`);
  return b;
}

/**
 * Opens an AF_PACKET socket on ifname (in the calling thread's network namespace).
 * Throws ERR_IO_NO_INTERFACE for an unknown interface, ERR_NATIVE_SYSCALL for kernel refusals.
 */
export function openPacketSocket(ifname: string, opts: PacketSocketOptions = {}): PacketSocket {
  const facts = ifFacts(ifname);
  const n = loadNative();
  const s = new n.PacketSocket(facts.index, {
    protocol: opts.protocol,
    ignoreOutgoing: opts.ignoreOutgoing,
    promisc: opts.promisc,
    vnetHdr: opts.vnetHdr,
    auxdata: opts.auxdata,
    rcvbuf: opts.rcvbufBytes,
    sndbuf: opts.sndbufBytes,
    qdiscBypass: opts.qdiscBypass,
    txRing: opts.txRing ? { frameCount: opts.txRing.frameCount, frameSize: opts.txRing.frameSize } : undefined,
    fanout: opts.fanout ? { group: opts.fanout.group, mode: opts.fanout.mode, rollover: opts.fanout.rollover } : undefined,
    ring: opts.ring ? { version: opts.ring.version, blockSize: opts.ring.blockSize, blockCount: opts.ring.blockCount, retireMs: opts.ring.retireMs, frameSize: opts.ring.frameSize, frameCount: opts.ring.frameCount } : undefined,
  });
  try {
    for (const m of opts.multicast ?? []) s.addMembership('multicast', macBytes(m));
  } catch (e) {
    s.close();
    throw e;
  }
  return new PacketSocket(ifname, facts, s, !!opts.ring);
}
