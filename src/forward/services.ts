/**
 * Virtual services as one worker holds them, and the lookup of a new flow's service
 * (IPVS ip_vs_service_find): first lvsd's own firewall-mark classification (the core sees
 * frames before netfilter, so `virtual_server fwmark N` works from `fwmark_rules`), then
 * protocol + VIP + port, then protocol + VIP + port 0 (the catch-all port service).
 *
 * One ServiceRt is one IPVS service. A `virtual_server_group` is several, as keepalived
 * makes them (ipvswrapper.c ipvs_group_cmd / ipvs_group_range_cmd): one IPVS service per
 * address of each range entry (with the entry's port), and one firewall-mark service per
 * `fwmark` entry, each with the virtual_server's real servers — its own scheduler state,
 * dests, counters and persistence templates; health and quorum are the virtual_server's.
 */
import type { FwmarkRule, Model, VirtualServer } from '../model/types.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, prefixToMask4 } from '../lib/ip.js';
import type { Scheduler } from './schedulers/types.js';
import type { PersistenceService } from './schedulers/persistence-key.js';
import type { CoreDest } from './dests.js';
import { KeyMap, addrWords } from './key-map.js';
import type { Tuple } from './packet.js';

/** Most addresses one group range may expand to (a /16 of IPv4; the config parser's limit). */
export const MAX_GROUP_RANGE = 65536;

/** One IPVS service of a virtual_server: what identifies it (ip_vs_service_find's key). */
export interface IpvsServiceDef {
  /**
   * Its key: the virtual_server's key for an address or fwmark virtual_server; for a group's
   * entries `group:tcp:NAME@198.18.0.20:80`, `group:tcp:NAME@[2001:db8::10]:80`,
   * `group:tcp:NAME@fwmark:5`.
   */
  readonly key: string;
  /** The virtual_server's model key (health, quorum and config refer to it). */
  readonly vsKey: string;
  readonly kind: 'addr' | 'fwmark';
  readonly fam: 4 | 6;
  /** 6 or 17. */
  readonly proto: number;
  /** Address (text, as the model writes it) of an address service; '' for fwmark. */
  readonly address: string;
  /** Address words of an address service. */
  readonly words: readonly [number, number, number, number];
  /** svc->port: 0 for firewall-mark and port-zero services. */
  readonly port: number;
  /** svc->fwmark: 0 for address services. */
  readonly fwmark: number;
  /** The group it comes from, or null. */
  readonly group: string | null;
}

function def(vs: VirtualServer, key: string, kind: 'addr' | 'fwmark', address: string, words: readonly number[], port: number, fwmark: number, group: string | null): IpvsServiceDef {
  return {
    key, vsKey: vs.key, kind, fam: vs.family === 'ipv4' ? 4 : 6, proto: vs.protocol === 'tcp' ? 6 : 17,
    address, words: [words[0]! >>> 0, words[1]! >>> 0, words[2]! >>> 0, words[3]! >>> 0], port, fwmark, group,
  };
}

/**
 * The IPVS services of a virtual_server, in keepalived's order (a group's range entries
 * address by address, then its fwmark entries). Bad or oversized ranges and unknown groups
 * are reported in `problems` and left out.
 */
export function ipvsServicesOf(model: Model, vs: VirtualServer, problems?: string[]): IpvsServiceDef[] {
  const m = vs.match;
  if (m.kind === 'addr') {
    const a = textWords(m.address);
    if (!a) {
      problems?.push(`${vs.key}: bad address ${m.address}`);
      return [];
    }
    return [def(vs, vs.key, 'addr', m.address, a.w, m.port, 0, null)];
  }
  if (m.kind === 'fwmark') return [def(vs, vs.key, 'fwmark', '', [0, 0, 0, 0], 0, m.fwmark, null)];
  const g = model.virtualServerGroups[m.group];
  if (!g) {
    problems?.push(`${vs.key}: unknown virtual_server_group ${m.group}`);
    return [];
  }
  const out: IpvsServiceDef[] = [];
  const marks: IpvsServiceDef[] = [];
  for (const ent of g.entries) {
    if (ent.kind === 'fwmark') {
      marks.push(def(vs, `${vs.key}@fwmark:${ent.fwmark}`, 'fwmark', '', [0, 0, 0, 0], 0, ent.fwmark, m.group));
      continue;
    }
    const first = textWords(ent.first);
    const last = textWords(ent.last);
    if (!first || !last || first.fam !== last.fam) {
      problems?.push(`${vs.key}: bad range ${ent.first}-${ent.last}`);
      continue;
    }
    // Ranges vary in the last word only (keepalived's `A.B.C.D-E` syntax).
    const wi = first.fam === 4 ? 0 : 3;
    const lo = first.w[wi];
    const hi = last.w[wi];
    if (hi < lo || hi - lo >= MAX_GROUP_RANGE) {
      problems?.push(`${vs.key}: range ${ent.first}-${ent.last} too large or reversed`);
      continue;
    }
    for (let v = lo; v <= hi; v++) {
      const w: [number, number, number, number] = [...first.w];
      w[wi] = v >>> 0;
      const text = wordsAddress(first.fam, w);
      const ep = first.fam === 4 ? `${text}:${ent.port}` : `[${text}]:${ent.port}`;
      out.push(def(vs, `${vs.key}@${ep}`, 'addr', text, w, ent.port, 0, m.group));
    }
  }
  return [...out, ...marks];
}

function wordsAddress(fam: 4 | 6, w: readonly number[]): string {
  if (fam === 4) return formatIPv4(w[0]! >>> 0);
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const x = w[i]! >>> 0;
    b[i * 4] = x >>> 24; b[i * 4 + 1] = (x >>> 16) & 255; b[i * 4 + 2] = (x >>> 8) & 255; b[i * 4 + 3] = x & 255;
  }
  return formatIPv6(b);
}

/** Same IPVS service identity (protocol, family, address/port or fwmark). */
export function sameServiceIdentity(a: IpvsServiceDef, b: IpvsServiceDef): boolean {
  return a.kind === b.kind && a.fam === b.fam && a.proto === b.proto && a.port === b.port && a.fwmark === b.fwmark &&
    a.words[0] === b.words[0] && a.words[1] === b.words[1] && a.words[2] === b.words[2] && a.words[3] === b.words[3];
}

/** A virtual service (one IPVS service) in one worker. */
export class ServiceRt {
  /** Index in the pipeline's service list. */
  id = -1;
  /** The IPVS service's key (IpvsServiceDef.key). */
  readonly key: string;
  /** The virtual_server's model key. */
  readonly vsKey: string;
  def: IpvsServiceDef;
  vs: VirtualServer;
  /** 6 or 17. */
  proto: number;
  fam: 4 | 6;
  /** svc->port: 0 for firewall-mark and port-zero services. */
  port: number;
  fwmark: number;
  scheduler: Scheduler;
  /** Real servers in config order (Dest.index = position). */
  dests: CoreDest[] = [];
  /** The dests currently given to the scheduler (available ones, or the sorry server). */
  schedDests: CoreDest[] = [];
  sorry: CoreDest | null = null;
  /** Quorum lost: only the sorry server (when one is configured) is scheduled. */
  quorumDown = false;
  /** Persistence: template timeout in ticks (0 = not persistent) and the key parameters. */
  persistTicks = 0;
  persist: PersistenceService;
  /** One-packet scheduling (UDP only, as IPVS). */
  ops: boolean;
  /** Stats slot in the shared counters. */
  statsSlot = -1;
  /** Active: its owning VRRP instance is MASTER (or it has none). */
  active = true;
  /** FULLNAT: the local addresses of the service's family (indexes into the pipeline's table) and the round-robin position (ip_vs_get_laddr). */
  lips: number[] = [];
  lipNext = 0;

  constructor(d: IpvsServiceDef, vs: VirtualServer, scheduler: Scheduler, persist: PersistenceService) {
    this.key = d.key;
    this.vsKey = vs.key;
    this.def = d;
    this.vs = vs;
    this.proto = d.proto;
    this.fam = d.fam;
    this.port = d.port;
    this.fwmark = d.fwmark;
    this.scheduler = scheduler;
    this.persist = persist;
    this.ops = vs.ops && vs.protocol === 'udp';
  }
}

/** A compiled fwmark rule: family, protocol, masked network words, mask words, port range. */
export interface FwmarkRuleRt {
  readonly fam: 4 | 6;
  readonly proto: number;
  readonly n: readonly [number, number, number, number];
  readonly m: readonly [number, number, number, number];
  readonly portMin: number;
  readonly portMax: number;
  readonly fwmark: number;
}

/** Mask words of a prefix length for a family. */
export function maskWords(fam: 4 | 6, prefixLen: number): [number, number, number, number] {
  if (fam === 4) return [prefixToMask4(prefixLen), 0, 0, 0];
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefixLen - i * 32));
    out[i] = bits === 0 ? 0 : bits === 32 ? 0xffffffff : prefixToMask4(bits);
  }
  return out;
}

/** Address text → family and words, or null. */
export function textWords(address: string): { fam: 4 | 6; w: [number, number, number, number]; bytes6: Uint8Array | null } | null {
  const v4 = parseIPv4(address);
  if (v4 !== null) return { fam: 4, w: [v4, 0, 0, 0], bytes6: null };
  const v6 = parseIPv6(address);
  if (v6) return { fam: 6, w: addrWords(6, v6), bytes6: v6 };
  return null;
}

/** Compiles `fwmark_rules` (config order is match order: first match wins). */
export function compileFwmarkRules(rules: readonly FwmarkRule[]): FwmarkRuleRt[] {
  const out: FwmarkRuleRt[] = [];
  for (const r of rules) {
    const a = textWords(r.address);
    if (!a) continue;
    const m = maskWords(a.fam, r.prefixLen);
    out.push({
      fam: a.fam, proto: r.protocol === 'tcp' ? 6 : 17,
      n: [(a.w[0] & m[0]) >>> 0, (a.w[1] & m[1]) >>> 0, (a.w[2] & m[2]) >>> 0, (a.w[3] & m[3]) >>> 0], m,
      portMin: r.portMin, portMax: r.portMax, fwmark: r.fwmark,
    });
  }
  return out;
}

/** The mark lvsd's rules give a packet with tuple t (destination side), or 0. */
export function classifyFwmark(rules: readonly FwmarkRuleRt[], t: Tuple): number {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.proto !== t.proto || r.fam !== t.fam) continue;
    if (t.dport < r.portMin || t.dport > r.portMax) continue;
    if (((t.d0 & r.m[0]) >>> 0) !== r.n[0]) continue;
    if (r.fam === 6 && (((t.d1 & r.m[1]) >>> 0) !== r.n[1] || ((t.d2 & r.m[2]) >>> 0) !== r.n[2] || ((t.d3 & r.m[3]) >>> 0) !== r.n[3])) continue;
    return r.fwmark;
  }
  return 0;
}

/** Lookup structures over the services of one worker. */
export class ServiceIndex {
  readonly byAddr = new KeyMap(64);
  /** fwmark → service id, per family (fwmark services are per family in IPVS). */
  readonly byMark4 = new Map<number, number>();
  readonly byMark6 = new Map<number, number>();
  rules: FwmarkRuleRt[] = [];

  /** Indexes a service under its identity. */
  add(svc: ServiceRt): void {
    const d = svc.def;
    if (d.kind === 'addr') this.byAddr.set(d.fam, d.proto, d.words[0], d.words[1], d.words[2], d.words[3], d.port, svc.id);
    else (d.fam === 4 ? this.byMark4 : this.byMark6).set(d.fwmark, svc.id);
  }

  /** ip_vs_service_find(): the service id for a new flow, or -1. */
  find(t: Tuple): number {
    if (this.rules.length !== 0) {
      const mark = classifyFwmark(this.rules, t);
      if (mark !== 0) {
        const id = (t.fam === 4 ? this.byMark4 : this.byMark6).get(mark);
        if (id !== undefined) return id;
      }
    }
    // `| 0`: see KeyMap (no heap numbers for words above 2^31).
    const id = this.byAddr.get(t.fam, t.proto, t.d0 | 0, t.d1 | 0, t.d2 | 0, t.d3 | 0, t.dport);
    if (id >= 0) return id;
    return this.byAddr.get(t.fam, t.proto, t.d0 | 0, t.d1 | 0, t.d2 | 0, t.d3 | 0, 0);
  }
}
