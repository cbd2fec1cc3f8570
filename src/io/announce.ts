/**
 * AnnouncePort over AF_PACKET: gratuitous ARP for IPv4 and unsolicited Neighbor
 * Advertisements for IPv6, built by src/io/frames.ts in keepalived's form and sent with one
 * sendmmsg per call. One send-only socket per interface (bound to protocol 0, so nothing
 * is queued to it), opened lazily and kept with a strong reference in this object
 * (ARCHITECTURE D2's lesson: an unreferenced socket is collected and closed).
 */
import { readFileSync } from 'node:fs';
import { parseIPv4, parseIPv6 } from '../lib/ip.js';
import { parseMac } from '../lib/mac.js';
import { allocTxBatch, ifFacts, openPacketSocket, type IfFacts, type TxBatch } from './af-packet.js';
import { NA_FRAME_LEN, writeGarp, writeUnsolicitedNa } from './frames.js';
import type { AnnouncePort } from './ports.js';

/** The parts of a packet socket the announcer uses (a seam for tests). */
export interface AnnounceSocket {
  attachTx(batch: TxBatch): number;
  sendBatch(count: number, first?: number): number;
  readonly lastErrno: number;
  close(): void;
}

/** Why an announce() frame was not sent; counted in {@link PacketAnnouncer.failures}. */
export type AnnounceFailure = 'bad_address' | 'bad_mac' | 'no_interface' | 'open_failed' | 'send_failed';

/** Injectable system access (defaults: the real interface, socket and sysctl). */
export interface AnnouncerDeps {
  readonly ifFacts?: (ifname: string) => IfFacts;
  readonly open?: (ifname: string) => AnnounceSocket;
  /** Whether ifname forwards IPv6 (sets the NA router flag, as keepalived does). */
  readonly ipv6Forwarding?: (ifname: string) => boolean;
}

const MAX_PER_CALL = 256;

function readIpv6Forwarding(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Sends gratuitous ARP / unsolicited NA through a lazily opened AF_PACKET socket per interface. */
export class PacketAnnouncer implements AnnouncePort {
  /** Frames not sent, by reason (never thrown). */
  readonly failures: Record<AnnounceFailure, number> = { bad_address: 0, bad_mac: 0, no_interface: 0, open_failed: 0, send_failed: 0 };
  /** Frames sent since creation. */
  sentTotal = 0;
  /** errno of the last failed send (0 when none). */
  lastErrno = 0;
  private readonly sockets = new Map<string, AnnounceSocket>();
  private readonly tx: TxBatch = allocTxBatch(MAX_PER_CALL, MAX_PER_CALL * 128);
  private readonly deps: Required<AnnouncerDeps>;

  constructor(deps: AnnouncerDeps = {}) {
    this.deps = {
      ifFacts: deps.ifFacts ?? ifFacts,
      open: deps.open ?? ((ifname) => openPacketSocket(ifname, { protocol: 0, ignoreOutgoing: true })),
      ipv6Forwarding: deps.ipv6Forwarding ?? readIpv6Forwarding,
    };
  }

  announce(ifname: string, addresses: readonly string[], srcMac?: string): { sent: number; failed: number } {
    let failed = 0;
    let facts: IfFacts;
    try {
      facts = this.deps.ifFacts(ifname);
    } catch {
      this.failures.no_interface += addresses.length;
      this.forget(ifname);
      return { sent: 0, failed: addresses.length };
    }
    let mac = facts.mac;
    if (srcMac !== undefined) {
      const m = parseMac(srcMac);
      if (!m) {
        this.failures.bad_mac += addresses.length;
        return { sent: 0, failed: addresses.length };
      }
      mac = m;
    }
    if (mac.length !== 6) {
      this.failures.bad_mac += addresses.length;
      return { sent: 0, failed: addresses.length };
    }
    let router: boolean | null = null;
    let sent = 0;
    for (let start = 0; start < addresses.length; start += MAX_PER_CALL) {
      const chunk = addresses.slice(start, start + MAX_PER_CALL);
      let n = 0;
      let off = 0;
      for (const a of chunk) {
        const v4 = parseIPv4(a);
        let len = 0;
        if (v4 !== null) len = writeGarp(this.tx.buf, off, mac, v4);
        else {
          const v6 = parseIPv6(a);
          if (v6) {
            router ??= this.deps.ipv6Forwarding(ifname);
            len = writeUnsolicitedNa(this.tx.buf, off, mac, v6, router);
          }
        }
        if (len === 0) {
          failed++;
          this.failures.bad_address++;
          continue;
        }
        this.tx.offsets[n] = off;
        this.tx.lengths[n] = len;
        off += NA_FRAME_LEN > len ? NA_FRAME_LEN : len;
        n++;
      }
      if (n === 0) continue;
      const ok = this.sendFrames(ifname, n);
      sent += ok;
      failed += n - ok;
    }
    this.sentTotal += sent;
    return { sent, failed };
  }

  /** Sends tx entries [0, n); on a short send, reopens the socket once (the link may have been recreated). */
  private sendFrames(ifname: string, n: number): number {
    let done = 0;
    for (let attempt = 0; attempt < 2 && done < n; attempt++) {
      const s = this.socketFor(ifname);
      if (!s) {
        this.failures.open_failed += n - done;
        return done;
      }
      done += s.sendBatch(n - done, done);
      if (done < n) {
        this.lastErrno = s.lastErrno;
        this.forget(ifname);
      }
    }
    if (done < n) this.failures.send_failed += n - done;
    return done;
  }

  private socketFor(ifname: string): AnnounceSocket | null {
    let s = this.sockets.get(ifname);
    if (s) return s;
    try {
      s = this.deps.open(ifname);
      s.attachTx(this.tx);
    } catch {
      return null;
    }
    this.sockets.set(ifname, s);
    return s;
  }

  private forget(ifname: string): void {
    const s = this.sockets.get(ifname);
    if (!s) return;
    this.sockets.delete(ifname);
    s.close();
  }

  /** Interfaces with an open socket. */
  get openInterfaces(): string[] {
    return [...this.sockets.keys()];
  }

  /** Closes every socket. The announcer may be used again (sockets reopen lazily). */
  close(): void {
    for (const name of [...this.sockets.keys()]) this.forget(name);
  }
}
