/**
 * What the daemon's `table netdev lvsd` must drop for a model (ARCHITECTURE D4), computed on
 * the main thread: claimed core VIPs, and the sources of NAT replies. A NAT reply leaves a
 * real server from RIP:rport; the kernel must never see it (it would forward it un-NATed, or
 * answer it with a RST), so the table drops it at ingress after the AF_PACKET tap copied it.
 *
 * A real server with port 0 keeps the packet's destination port (firewall-mark services,
 * VIP:0 services, groups whose entries have port 0: the compiler gives their NAT real
 * servers port 0), so its replies come from every virtual port the service serves: the
 * ports of its address entries, the port ranges of its `fwmark_rules`, or all ports for a
 * port-0 entry.
 */
import type { Model, VirtualServer } from '../model/types.js';
import { ipFamily } from '../lib/ip.js';
import type { NatReplySource, NftSpec } from '../io/nft.js';

/** A virtual port range a service takes packets on (inclusive). */
export interface VirtualPortRange {
  readonly proto: 'tcp' | 'udp';
  readonly portMin: number;
  readonly portMax: number;
}

const ALL: readonly [number, number] = [0, 65535];

/** Every (protocol, port range) a service accepts packets on. */
export function virtualPortRanges(model: Model, vs: VirtualServer): VirtualPortRange[] {
  const out: VirtualPortRange[] = [];
  const port = (p: number) => (p === 0 ? ALL : [p, p] as const);
  const marks = (mark: number) => {
    for (const r of model.fwmarkRules) {
      if (r.fwmark !== mark || ipFamily(r.address) !== vs.family) continue;
      out.push({ proto: r.protocol, portMin: r.portMin, portMax: r.portMax });
    }
  };
  const m = vs.match;
  if (m.kind === 'addr') {
    const [lo, hi] = port(m.port);
    out.push({ proto: vs.protocol, portMin: lo, portMax: hi });
  } else if (m.kind === 'fwmark') {
    marks(m.fwmark);
  } else {
    for (const e of model.virtualServerGroups[m.group]?.entries ?? []) {
      if (e.kind === 'fwmark') marks(e.fwmark);
      else {
        const [lo, hi] = port(e.port);
        out.push({ proto: vs.protocol, portMin: lo, portMax: hi });
      }
    }
  }
  return out;
}

/** Where the NAT replies of a model's services come from (real and sorry servers). */
export function natReplySources(model: Model): NatReplySource[] {
  const out: NatReplySource[] = [];
  for (const vs of Object.values(model.virtualServers)) {
    let ranges: VirtualPortRange[] | null = null;
    const add = (address: string, port: number) => {
      if (port !== 0) {
        out.push({ address, proto: vs.protocol, port });
        return;
      }
      ranges ??= virtualPortRanges(model, vs);
      for (const r of ranges) out.push({ address, proto: r.proto, port: r.portMin, portMax: r.portMax });
    };
    for (const rs of Object.values(vs.realServers)) if (rs.method === 'NAT') add(rs.address, rs.port);
    if (vs.sorryServer?.method === 'NAT') add(vs.sorryServer.address, vs.sorryServer.port);
  }
  return out;
}

/** The table for a model, the served interfaces, the claimed VIPs and the director's own addresses. */
export function nftSpecOf(model: Model, interfaces: readonly string[], claimedVips: readonly string[], localAddresses: readonly string[]): NftSpec {
  return { interfaces: [...interfaces], vips: [...claimedVips], natReals: natReplySources(model), localAddresses: [...localAddresses] };
}
