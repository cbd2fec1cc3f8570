/**
 * Virtual services as one worker holds them, and the lookup of a new flow's service
 * (IPVS ip_vs_service_find): first lvsd's own firewall-mark classification (the core sees
 * frames before netfilter, so `virtual_server fwmark N` works from `fwmark_rules`), then
 * protocol + VIP + port, then protocol + VIP + port 0 (the catch-all port service).
 * `virtual_server_group` entries (address ranges + port, or marks) index the group's
 * single service under every address they cover.
 */
import type { FwmarkRule, VirtualServer, VirtualServerGroup } from '../model/types.js';
import { parseIPv4, parseIPv6, prefixToMask4 } from '../lib/ip.js';
import type { Scheduler } from './schedulers/types.js';
import type { PersistenceService } from './schedulers/persistence-key.js';
import type { CoreDest } from './dests.js';
import { KeyMap, addrWords } from './key-map.js';
import type { Tuple } from './packet.js';

/** A virtual service in one worker. */
export class ServiceRt {
  /** Index in the pipeline's service list. */
  id = -1;
  readonly key: string;
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

  constructor(vs: VirtualServer, scheduler: Scheduler, persist: PersistenceService) {
    this.key = vs.key;
    this.vs = vs;
    this.proto = vs.protocol === 'tcp' ? 6 : 17;
    this.fam = vs.family === 'ipv4' ? 4 : 6;
    this.port = vs.match.kind === 'addr' ? vs.match.port : 0;
    this.fwmark = vs.match.kind === 'fwmark' ? vs.match.fwmark : 0;
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

/** Most addresses one group range may expand to (a /16 of IPv4). */
export const MAX_GROUP_RANGE = 65536;

/** Lookup structures over the services of one worker. */
export class ServiceIndex {
  readonly byAddr = new KeyMap(64);
  /** fwmark → service id, per family (fwmark services are per family in IPVS). */
  readonly byMark4 = new Map<number, number>();
  readonly byMark6 = new Map<number, number>();
  rules: FwmarkRuleRt[] = [];
  /** Problems met while indexing (ranges too large, unknown groups): reported, never thrown. */
  readonly problems: string[] = [];

  /** Indexes a service under its match. */
  add(svc: ServiceRt, groups: Readonly<Record<string, VirtualServerGroup>>): void {
    const m = svc.vs.match;
    if (m.kind === 'addr') {
      const a = textWords(m.address);
      if (a) this.byAddr.set(a.fam, svc.proto, a.w[0], a.w[1], a.w[2], a.w[3], m.port, svc.id);
    } else if (m.kind === 'fwmark') {
      (svc.fam === 4 ? this.byMark4 : this.byMark6).set(m.fwmark, svc.id);
    } else {
      const g = groups[m.group];
      if (!g) {
        this.problems.push(`${svc.key}: unknown virtual_server_group ${m.group}`);
        return;
      }
      for (const ent of g.entries) {
        if (ent.kind === 'fwmark') {
          (svc.fam === 4 ? this.byMark4 : this.byMark6).set(ent.fwmark, svc.id);
          continue;
        }
        const first = textWords(ent.first);
        const last = textWords(ent.last);
        if (!first || !last || first.fam !== last.fam) {
          this.problems.push(`${svc.key}: bad range ${ent.first}-${ent.last}`);
          continue;
        }
        // Ranges vary in the last word only (keepalived's `A.B.C.D-E` syntax).
        const lo = first.w[first.fam === 4 ? 0 : 3];
        const hi = last.w[last.fam === 4 ? 0 : 3];
        if (hi < lo || hi - lo >= MAX_GROUP_RANGE) {
          this.problems.push(`${svc.key}: range ${ent.first}-${ent.last} too large or reversed`);
          continue;
        }
        for (let v = lo; v <= hi; v++) {
          const w = [...first.w];
          w[first.fam === 4 ? 0 : 3] = v >>> 0;
          this.byAddr.set(first.fam, svc.proto, w[0]!, w[1]!, w[2]!, w[3]!, ent.port, svc.id);
        }
      }
    }
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
    const id = this.byAddr.get(t.fam, t.proto, t.d0, t.d1, t.d2, t.d3, t.dport);
    if (id >= 0) return id;
    return this.byAddr.get(t.fam, t.proto, t.d0, t.d1, t.d2, t.d3, 0);
  }
}
