/**
 * Connection sync inside one forwarding worker: the master side of `ip_vs_sync_conn()` on
 * the per-packet path, and the backup side of `ip_vs_proc_conn()` for the entries the main
 * thread hands this worker.
 *
 * Master (`input`, called by the pipeline for every client-side packet of a connection,
 * after its state transition): counts the packet (cp->in_pkts), asks the sync rules
 * (src/sync/rules.ts), and when they say so writes the connection as a wire entry into the
 * worker's ring (src/sync/ring.ts); then does the same for the persistence template that
 * controls it, with the template's own count (the `control:` loop). No allocation: one
 * reused SyncEntry, typed-array writes.
 *
 * Backup (`apply`): each entry becomes a connection or template in this worker's table, or
 * updates the one there, with the kernel's rules (ip_vs_sync.c ip_vs_proc_conn,
 * ip_vs_conn.c ip_vs_bind_dest): flags masked to IP_VS_CONN_F_BACKUP_MASK; an existing
 * connection whose real server differs is expired and made again unless the entry is an
 * INACTIVE one (then it is the late expiry report of the old connection: ignored); on an
 * update only INACTIVE moves (with the dest's active/inactive counts); the service is found
 * as ip_vs_service_find (fwmark, then protocol + VIP + port, then port 0) and the real
 * server by address and port (or port 0); the connection takes its forwarding method from
 * the real server as configured here (ip_vs_bind_dest: "connections inherit forwarding
 * method from dest"), keeps the entry's activity flag, gets state = old_state = the entry's
 * state, in_pkts = sync_threshold, and the entry's timeout (0 = the state's timeout; 3 min
 * for a template). lvsd also ties a connection to its persistence template (IPVS leaves
 * synced connections unlinked), so a template outlives neither its connections nor the
 * other way round after a takeover.
 *
 * Where lvsd differs: a template whose real server changed on the master replaces the old
 * one here (the kernel updates the old one and keeps its real server); a connection whose
 * service or real server is not configured here is not inserted (counted `no_service` / `no_dest`): the kernel keeps it unbound and still
 * forwards it, but lvsd's core forwards only through a configured real server (its next hop,
 * egress interface and MAC come from it, ARCHITECTURE D7).
 */
import {
  STRIDE, C0, V0, D0, PORTS_CV, PORTS_D, FLAGS, SVC, DEST, DEADLINE, CONTROL, MAC_HI, MAC_LO, SYNC,
  F_V6, F_DEST_V6, F_TEMPLATE, F_INACTIVE, F_NOOUTPUT, F_METHOD_SHIFT, F_METHOD_MASK, KEY_IN,
} from '../forward/conn-table.js';
import type { CoreDest } from '../forward/dests.js';
import { M_DR, M_FNAT, M_NAT, M_TUN } from '../forward/dests.js';
import type { ConnSyncSink, Pipeline } from '../forward/pipeline.js';
import { Tuple } from '../forward/packet.js';
import type { ServiceRt } from '../forward/services.js';
import { xmitByCode } from '../forward/xmit/index.js';
import { createPersistenceKey, persistenceTemplateKey } from '../forward/schedulers/persistence-key.js';
import type { FlowKey } from '../forward/schedulers/types.js';
import {
  createSyncEntry, readEntry, writeEntry, type SyncEntry,
  IP_VS_CONN_F_BACKUP_MASK, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_NOOUTPUT, IP_VS_CONN_F_TEMPLATE, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_SYNC,
} from './codec.js';
import { SyncRing, counterIndex } from './ring.js';
import { nextPkts, syncNeeded, type SyncRules } from './rules.js';

/** What a worker is told about sync (the `sync` worker message). */
export interface WorkerSyncState {
  /** This worker's ring and counters (null: sync not configured). */
  readonly ring: SharedArrayBuffer | null;
  /** The master role runs: connections are reported. */
  readonly master: boolean;
  readonly rules: SyncRules;
}

/** A template's timeout when the entry carries none (ip_vs_proc_conn: 3*60*HZ). */
const TEMPLATE_DEFAULT_TIMEOUT_S = 180;
const SYNC_PKTS_MASK = 0xffff;

const C_RECORDED = counterIndex('entries_recorded');
const C_TEMPLATES_RECORDED = counterIndex('templates_recorded');
const C_UNSUPPORTED = counterIndex('unsupported_method');
const C_MIXED_FAMILY = counterIndex('unsupported_family');
const C_CONNS_INSERTED = counterIndex('conns_inserted');
const C_TEMPLATES_INSERTED = counterIndex('templates_inserted');
const C_UPDATED = counterIndex('updated');
const C_REPLACED = counterIndex('replaced');
const C_STALE = counterIndex('stale');
const C_NO_SERVICE = counterIndex('no_service');
const C_NO_DEST = counterIndex('no_dest');
const C_DEST_METHOD = counterIndex('dest_method');
const C_TABLE_FULL = counterIndex('table_full');
const C_LINKED = counterIndex('linked');

/** IPVS forwarding method bits of an M_* code (FULLNAT has none: -1). */
function fwdOf(method: number): number {
  return method === M_NAT ? IP_VS_CONN_F_MASQ : method === M_DR ? IP_VS_CONN_F_DROUTE : method === M_TUN ? IP_VS_CONN_F_TUNNEL : -1;
}

/** The worker side of connection sync; the pipeline's ConnSyncSink. */
export class WorkerSync implements ConnSyncSink {
  private readonly pl: Pipeline;
  readonly ring: SyncRing;
  private readonly c: Float64Array;
  master: boolean;
  rules: SyncRules;
  private readonly ent: SyncEntry = createSyncEntry();
  private readonly t = new Tuple();
  private readonly pkey = createPersistenceKey();
  private readonly flow: { family: 'ipv4' | 'ipv6'; srcAddr4: number; srcAddr6: Uint8Array | null; srcPort: number; dstAddr4: number; dstAddr6: Uint8Array | null; dstPort: number; proto: number } =
    { family: 'ipv4', srcAddr4: 0, srcAddr6: null, srcPort: 0, dstAddr4: 0, dstAddr6: null, dstPort: 0, proto: 0 };
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);

  constructor(pl: Pipeline, s: WorkerSyncState & { ring: SharedArrayBuffer }) {
    this.pl = pl;
    this.ring = new SyncRing(s.ring);
    this.c = this.ring.counters;
    this.master = s.master;
    this.rules = s.rules;
  }

  /** Applies a new `sync` state (role change). */
  set(s: WorkerSyncState): void {
    this.master = s.master;
    this.rules = s.rules;
  }

  // ───────────────────────────── master: the per-packet path ─────────────────────────────

  /** A packet from the client side of connection r arrived (ip_vs_in_hook → ip_vs_sync_conn). */
  input(r: number): void {
    const e = this.pl.conns.e;
    const o = r * STRIDE;
    if (!this.master) return;
    const rules = this.rules;
    const svc = this.pl.services[e[o + SVC]!];
    // IP_VS_CONN_F_ONE_PACKET: not synced itself, only its template (pkts = sync_threshold).
    if (svc === null || svc === undefined || !svc.ops) {
      const sw = e[o + SYNC]!;
      const pkts = nextPkts(rules, sw & SYNC_PKTS_MASK);
      const pd = e[o + PORTS_D]!;
      const state = pd & 255;
      let old = (sw >>> 16) & 15;
      if (syncNeeded(rules, false, (pd >>> 8) & 255, state, old, pkts)) {
        old = state;
        this.record(r, svc ?? null);
      }
      e[o + SYNC] = ((old << 16) | pkts) >>> 0;
    }
    const ct = e[o + CONTROL]!;
    if (ct > 0) {
      const tr = ct - 1;
      const to = tr * STRIDE;
      const tp = nextPkts(rules, e[to + SYNC]! & SYNC_PKTS_MASK);
      e[to + SYNC] = ((e[to + SYNC]! & ~SYNC_PKTS_MASK) | tp) >>> 0;
      if (syncNeeded(rules, true, 0, 0, 0, tp)) this.record(tr, svc ?? null);
    }
  }

  /** Writes record r (a connection or template) into the ring as a wire entry. */
  private record(r: number, svc: ServiceRt | null): void {
    const pl = this.pl;
    const e = pl.conns.e;
    const o = r * STRIDE;
    const fl = e[o + FLAGS]!;
    const fwd = fwdOf((fl & F_METHOD_MASK) >>> F_METHOD_SHIFT);
    if (fwd < 0) {
      this.c[C_UNSUPPORTED]!++;
      return;
    }
    // A TUN connection to a real server of the other family (IPv4 in IPv6 and back): a
    // version 1 entry has one type for all three addresses (ip_vs_sync_conn writes cp->daddr
    // in cp->af's size), so the real server's address cannot be carried: not reported.
    if (((fl & F_V6) === 0) !== ((fl & F_DEST_V6) === 0)) {
      this.c[C_MIXED_FAMILY]!++;
      return;
    }
    const tmpl = (fl & F_TEMPLATE) !== 0;
    const x = this.ent;
    const fam = fl & F_V6 ? 6 : 4;
    const pd = e[o + PORTS_D]!;
    const cv = e[o + PORTS_CV]!;
    x.fam = fam;
    x.proto = (pd >>> 8) & 255;
    x.flags = (fwd | (fl & F_INACTIVE ? IP_VS_CONN_F_INACTIVE : 0) | (fl & F_NOOUTPUT ? IP_VS_CONN_F_NOOUTPUT : 0) |
      (tmpl ? IP_VS_CONN_F_TEMPLATE : 0)) >>> 0;
    x.state = tmpl ? 0 : pd & 255;
    x.cport = tmpl ? 0 : cv >>> 16;
    x.vport = cv & 0xffff;
    x.dport = pd >>> 16;
    // cp->fwmark: the mark of the firewall-mark service (skb->mark when it was made).
    x.fwmark = svc !== null && svc.def.kind === 'fwmark' ? svc.fwmark : 0;
    // cp->timeout / HZ: the state's timeout (the deadline was just set from it), or the template's.
    const ticks = tmpl ? pl.conns.templateTicks[e[o + SVC]!] ?? 0 : e[o + DEADLINE]! - pl.now;
    x.timeoutS = Math.max(1, Math.round((ticks * pl.tickMs) / 1000));
    for (let i = 0; i < 4; i++) {
      x.caddr[i] = e[o + C0 + i]!;
      x.vaddr[i] = e[o + V0 + i]!;
      x.daddr[i] = e[o + D0 + i]!;
    }
    x.hasSeq = false;
    x.peDataLen = 0;
    x.peNameLen = 0;
    const hi = e[o + MAC_HI]!;
    const lo = e[o + MAC_LO]!;
    x.hasMac = !tmpl && (hi | lo) !== 0;
    x.macHi = hi;
    x.macLo = lo;
    const ring = this.ring;
    const at = ring.reserve();
    if (at < 0) return;
    ring.commit(writeEntry(ring.dv, at, x));
    this.c[C_RECORDED]!++;
    if (tmpl) this.c[C_TEMPLATES_RECORDED]!++;
  }

  // ───────────────────────────── backup: entries from the peer ─────────────────────────────

  /**
   * Applies a batch of entries (wire format, each starting on a 4-byte boundary, as the main
   * thread copied them out of messages for this worker; already validated). `now` is the
   * worker's tick.
   */
  apply(bytes: Uint8Array, now: number): void {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const x = this.ent;
    let p = 0;
    while (p + 4 <= bytes.byteLength) {
      const size = dv.getUint16(p + 2) & 0x0fff;
      if (size === 0 || p + size > bytes.byteLength) break;
      if (readEntry(dv, p, p + size, x).ok) this.applyEntry(x, now);
      p += (size + 3) & ~3;
    }
  }

  /** ip_vs_proc_conn() for one decoded entry. */
  applyEntry(x: SyncEntry, now: number): void {
    const pl = this.pl;
    const conns = pl.conns;
    const e = conns.e;
    const flags = ((x.flags & IP_VS_CONN_F_BACKUP_MASK) | IP_VS_CONN_F_SYNC) >>> 0;
    const tmpl = (flags & IP_VS_CONN_F_TEMPLATE) !== 0;
    let r = -1;
    if (!tmpl) {
      const t = this.t;
      t.fam = x.fam; t.proto = x.proto;
      t.s0 = x.caddr[0]!; t.s1 = x.caddr[1]!; t.s2 = x.caddr[2]!; t.s3 = x.caddr[3]!;
      t.d0 = x.vaddr[0]!; t.d1 = x.vaddr[1]!; t.d2 = x.vaddr[2]!; t.d3 = x.vaddr[3]!;
      t.sport = x.cport; t.dport = x.vport;
      const rk = conns.lookup(t);
      if (rk >= 0 && (rk & 1) === KEY_IN) {
        r = rk >>> 1;
        const o = r * STRIDE;
        if ((e[o + PORTS_D]! >>> 16) !== x.dport || e[o + D0] !== x.daddr[0] || e[o + D0 + 1] !== x.daddr[1] ||
          e[o + D0 + 2] !== x.daddr[2] || e[o + D0 + 3] !== x.daddr[3]) {
          if (flags & IP_VS_CONN_F_INACTIVE) {
            // "the expiration message for the connection that was already replaced": ignored.
            this.c[C_STALE]!++;
            return;
          }
          conns.remove(r);
          this.c[C_REPLACED]!++;
          r = -1;
        }
      }
    } else {
      r = conns.lookupTemplate(x.fam, x.proto, x.caddr[0]!, x.caddr[1]!, x.caddr[2]!, x.caddr[3]!,
        x.vaddr[0]!, x.vaddr[1]!, x.vaddr[2]!, x.vaddr[3]!, x.vport);
      if (r >= 0) {
        const o = r * STRIDE;
        if ((e[o + PORTS_D]! >>> 16) !== x.dport || e[o + D0] !== x.daddr[0] || e[o + D0 + 1] !== x.daddr[1] ||
          e[o + D0 + 2] !== x.daddr[2] || e[o + D0 + 3] !== x.daddr[3]) {
          // The master made a new template for this client on another real server (its old
          // one was invalidated, ip_vs_check_template): the kernel would keep updating the
          // old one here; lvsd invalidates it too (kept while it controls connections) and
          // takes the new one, so the client follows the master's choice after a takeover.
          conns.invalidateTemplate(r, now);
          this.c[C_REPLACED]!++;
          r = -1;
        }
      }
    }
    // The timeout from the entry (version 0: the state's, or 3 min for a template).
    let ticks: number;
    if (x.timeoutS > 0) ticks = Math.max(1, Math.round((x.timeoutS * 1000) / pl.tickMs));
    else if (tmpl) ticks = Math.round((TEMPLATE_DEFAULT_TIMEOUT_S * 1000) / pl.tickMs);
    else ticks = pl.timeoutTicks(x.proto, x.state);
    const dl = now + ticks;
    let svcId: number;
    if (r >= 0) {
      const o = r * STRIDE;
      svcId = e[o + SVC]!;
      if (!tmpl) {
        const fl = e[o + FLAGS]!;
        const d = pl.destTable.list[e[o + DEST]!];
        const wasInactive = (fl & F_INACTIVE) !== 0;
        const inactive = (flags & IP_VS_CONN_F_INACTIVE) !== 0;
        if (wasInactive !== inactive) {
          if (d) {
            if (inactive) { d.activeConns--; d.inactiveConns++; } else { d.activeConns++; d.inactiveConns--; }
          }
          e[o + FLAGS] = (inactive ? fl | F_INACTIVE : fl & ~F_INACTIVE) >>> 0;
        }
        e[o + PORTS_D] = ((e[o + PORTS_D]! & ~255) | (x.state & 255)) >>> 0;
        if (x.hasMac && (e[o + MAC_HI]! | e[o + MAC_LO]!) === 0) {
          e[o + MAC_HI] = x.macHi;
          e[o + MAC_LO] = x.macLo;
        }
      }
      this.c[C_UPDATED]!++;
    } else {
      const svc = this.serviceFor(x);
      if (svc === null) {
        this.c[C_NO_SERVICE]!++;
        return;
      }
      const d = this.destFor(svc, x);
      if (d === null) {
        this.c[C_NO_DEST]!++;
        return;
      }
      const xm = xmitByCode(d.method);
      if (!xm || d.method === M_FNAT) {
        this.c[C_DEST_METHOD]!++;
        return;
      }
      r = conns.alloc();
      if (r < 0) {
        this.c[C_TABLE_FULL]!++;
        return;
      }
      const o = r * STRIDE;
      for (let i = 0; i < 4; i++) {
        e[o + C0 + i] = x.caddr[i]!;
        e[o + V0 + i] = x.vaddr[i]!;
        e[o + D0 + i] = x.daddr[i]!;
      }
      e[o + PORTS_CV] = tmpl ? x.vport : ((x.cport << 16) | x.vport) >>> 0;
      e[o + PORTS_D] = ((x.dport << 16) | (x.proto << 8) | (tmpl ? 0 : x.state & 255)) >>> 0;
      e[o + SVC] = svc.id;
      svcId = svc.id;
      const fam = x.fam === 6 ? F_V6 : 0;
      if (tmpl) {
        e[o + FLAGS] = (fam | (d.method << F_METHOD_SHIFT)) >>> 0;
        conns.commitTemplate(r, d, dl);
        this.c[C_TEMPLATES_INSERTED]!++;
      } else {
        // The client side: the interface the service's traffic comes in on; the MAC the
        // master saw (lvsd's option), or learnt from the client's first packet.
        const ifSlot = Math.max(0, pl.ifSlotOf(svc.vs.interface));
        e[o + FLAGS] = (fam | (d.method << F_METHOD_SHIFT) | (xm.noOutput ? F_NOOUTPUT : 0) | (ifSlot << 16)) >>> 0;
        if (x.hasMac) {
          e[o + MAC_HI] = x.macHi;
          e[o + MAC_LO] = x.macLo;
        }
        conns.commitConn(r, d, xm.hashOut && !svc.ops, dl);
        // ip_vs_bind_dest(): a synced connection keeps the activity it was sent with.
        if (!(flags & IP_VS_CONN_F_INACTIVE)) {
          e[o + FLAGS] = (e[o + FLAGS]! & ~F_INACTIVE) >>> 0;
          d.inactiveConns--;
          d.activeConns++;
        }
        this.c[C_CONNS_INSERTED]!++;
      }
    }
    const o = r * STRIDE;
    // cp->in_pkts = sync_threshold; cp->old_state = cp->state.
    const period = this.rules.period;
    const pk = period > 0 ? this.rules.threshold % period : Math.min(this.rules.threshold, SYNC_PKTS_MASK);
    e[o + SYNC] = (((tmpl ? 0 : x.state & 15) << 16) | pk) >>> 0;
    // An update re-arms the timeout (ip_vs_conn_put): later deadlines are picked up lazily by the wheel.
    conns.touch(r, dl);
    if (!tmpl && e[o + CONTROL] === 0) this.link(r, svcId, x);
  }

  /** ip_vs_service_find() for a synced entry: fwmark service, then protocol + VIP + port, then port 0. */
  private serviceFor(x: SyncEntry): ServiceRt | null {
    const idx = this.pl.serviceIndex;
    const list = this.pl.services;
    if (x.fwmark !== 0) {
      const id = (x.fam === 4 ? idx.byMark4 : idx.byMark6).get(x.fwmark);
      if (id !== undefined && list[id]) return list[id]!;
    }
    const v = x.vaddr;
    const proto = x.proto;
    let id = idx.byAddr.get(x.fam, proto, v[0]! | 0, v[1]! | 0, v[2]! | 0, v[3]! | 0, x.vport);
    if (id < 0) id = idx.byAddr.get(x.fam, proto, v[0]! | 0, v[1]! | 0, v[2]! | 0, v[3]! | 0, 0);
    return id >= 0 ? list[id] ?? null : null;
  }

  /** ip_vs_lookup_dest(): the service's real server (or sorry server) at daddr with port dport (or port 0). */
  private destFor(svc: ServiceRt, x: SyncEntry): CoreDest | null {
    const a = x.daddr;
    const match = (d: CoreDest) => d.fam === x.fam && d.w0 === a[0] && d.w1 === a[1] && d.w2 === a[2] && d.w3 === a[3];
    let zero: CoreDest | null = null;
    const all = svc.sorry ? [...svc.dests, svc.sorry] : svc.dests;
    for (const d of all) {
      if (!match(d)) continue;
      if (d.port === x.dport) return d;
      if (d.port === 0) zero = d;
    }
    return zero;
  }

  /** Ties connection r to the persistence template its client has in its service, if that template is on the same real server. */
  private link(r: number, svcId: number, x: SyncEntry): void {
    const pl = this.pl;
    const svc = pl.services[svcId];
    if (!svc || svc.persistTicks === 0) return;
    const f = this.flow;
    if (x.fam === 4) {
      f.family = 'ipv4'; f.srcAddr4 = x.caddr[0]!; f.dstAddr4 = x.vaddr[0]!; f.srcAddr6 = null; f.dstAddr6 = null;
    } else {
      f.family = 'ipv6'; f.srcAddr4 = 0; f.dstAddr4 = 0;
      f.srcAddr6 = wordsInto(this.src6, x.caddr);
      f.dstAddr6 = wordsInto(this.dst6, x.vaddr);
    }
    f.srcPort = x.cport;
    f.dstPort = x.vport;
    f.proto = x.proto;
    const k = persistenceTemplateKey(this.pkey, svc.persist, f as FlowKey);
    const c = x.fam === 4 ? [k.caddr4, 0, 0, 0] : bytesWords(k.caddr6);
    const v = x.fam === 4 ? [k.vaddr4, 0, 0, 0] : bytesWords(k.vaddr6);
    const conns = pl.conns;
    const tr = conns.lookupTemplate(x.fam, k.proto, c[0]!, c[1]!, c[2]!, c[3]!, v[0]!, v[1]!, v[2]!, v[3]!, k.vport);
    if (tr < 0 || conns.e[tr * STRIDE + DEST] !== conns.e[r * STRIDE + DEST]) return;
    conns.control(r, tr);
    this.c[C_LINKED]!++;
  }
}

function wordsInto(out: Uint8Array, w: Uint32Array): Uint8Array {
  for (let i = 0; i < 4; i++) {
    const v = w[i]!;
    out[i * 4] = v >>> 24; out[i * 4 + 1] = (v >>> 16) & 255; out[i * 4 + 2] = (v >>> 8) & 255; out[i * 4 + 3] = v & 255;
  }
  return out;
}

function bytesWords(b: Uint8Array): number[] {
  const w = (i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}
