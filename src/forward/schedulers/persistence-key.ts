/**
 * The persistence template key of a new flow (ip_vs_core.c `ip_vs_sched_persist()`), pure.
 *
 * The client address is masked to the service's `persistence_granularity`
 * (`snet = saddr & svc->netmask`; IPv6: `ipv6_addr_prefix(saddr, plen)`), the client port
 * is always 0, and the rest depends on the service:
 *
 *     port service, not FTP:   <proto, snet, 0, vaddr, vport>
 *     FTP (port 21) service:   <proto, snet, 0, vaddr, 0>      (data connections share it)
 *     port-zero service:       <proto, snet, 0, vaddr, 0>
 *     fwmark service:          <IPPROTO_IP (0), snet, 0, htonl(fwmark), 0>
 *
 * So every port of a port-zero service, and every VIP:port of a firewall-mark group, shares
 * one template per client network: that is what keeps a client on one real server across
 * them. The connection table looks the key up; on a miss (or when the template's dest is no
 * longer available) the pipeline calls the scheduler and creates the template.
 */
import { prefixToMask4 } from '../../lib/ip.js';
import type { VirtualServer } from '../../model/types.js';
import type { FlowKey } from './types.js';

/** ip_vs_core.c FTPPORT. */
const FTP_PORT = 21;

/** What the template key depends on, taken once from the model (`persistenceServiceOf`). */
export interface PersistenceService {
  readonly family: 'ipv4' | 'ipv6';
  /** svc->port: the service port; 0 for firewall-mark and port-zero services. */
  readonly port: number;
  /** svc->fwmark: the firewall mark of a firewall-mark service, 0 otherwise. */
  readonly fwmark: number;
  /** `persistence_granularity` as a prefix length (32 / 128 = per client address). */
  readonly granularityPrefix: number;
  /** IPv4 netmask of the granularity (svc->netmask), precomputed. */
  readonly netmask4: number;
}

/** A template key, filled in place by `persistenceTemplateKey()` (allocate one per worker). */
export interface PersistenceKey {
  /** IP protocol (6, 17), or 0 (IPPROTO_IP) for a firewall-mark template. */
  proto: number;
  /** Client network, IPv4 (masked); 0 for IPv6. */
  caddr4: number;
  /** Client network, IPv6 (masked, 16 bytes); all zero for IPv4. */
  readonly caddr6: Uint8Array;
  /** Client port: always 0 in a template. */
  cport: number;
  /** Virtual address (IPv4), or the firewall mark for a firewall-mark template. */
  vaddr4: number;
  /** Virtual address (IPv6), or the firewall mark in its first four bytes (big-endian). */
  readonly vaddr6: Uint8Array;
  /** Virtual port, or 0 (FTP, port-zero and firewall-mark templates). */
  vport: number;
}

/** A blank key to reuse. */
export function createPersistenceKey(): PersistenceKey {
  return { proto: 0, caddr4: 0, caddr6: new Uint8Array(16), cport: 0, vaddr4: 0, vaddr6: new Uint8Array(16), vport: 0 };
}

/**
 * The persistence parameters of a virtual server (fwmark and port-zero services have svc->port
 * 0). `ipvs` names the IPVS service when it is not the virtual server's own match: each entry
 * of a virtual_server_group is its own IPVS service (keepalived ipvs_group_cmd), so a range
 * entry persists per VIP:port and a `fwmark` entry as a firewall-mark service,
 * <IPPROTO_IP, snet, 0, fwmark, 0>.
 */
export function persistenceServiceOf(vs: VirtualServer, ipvs?: { readonly port: number; readonly fwmark: number }): PersistenceService {
  const port = ipvs ? ipvs.port : vs.match.kind === 'addr' ? vs.match.port : 0;
  const fwmark = ipvs ? ipvs.fwmark : vs.match.kind === 'fwmark' ? vs.match.fwmark : 0;
  const max = vs.family === 'ipv4' ? 32 : 128;
  const plen = Math.max(0, Math.min(max, vs.persistenceGranularity));
  return {
    family: vs.family,
    port,
    fwmark,
    granularityPrefix: plen,
    netmask4: vs.family === 'ipv4' ? prefixToMask4(plen) : 0,
  };
}

/** Fills `out` with the template key of `flow` for service `svc` and returns it. No allocation. */
export function persistenceTemplateKey(out: PersistenceKey, svc: PersistenceService, flow: FlowKey): PersistenceKey {
  out.cport = 0;
  let proto = flow.proto;
  let vport = 0;
  let useFwmark = false;
  if (flow.dstPort === svc.port) {
    if (svc.port !== FTP_PORT) vport = flow.dstPort;
  } else if (svc.fwmark !== 0) {
    proto = 0; // IPPROTO_IP
    useFwmark = true;
  }
  out.proto = proto;
  out.vport = vport;
  const src6 = flow.srcAddr6;
  if (src6 === null) {
    out.caddr4 = (flow.srcAddr4 & svc.netmask4) >>> 0;
    out.caddr6.fill(0);
  } else {
    out.caddr4 = 0;
    // ipv6_addr_prefix(): keep plen bits, zero the rest
    const plen = svc.granularityPrefix;
    for (let i = 0; i < 16; i++) {
      const bits = plen - i * 8;
      out.caddr6[i] = bits >= 8 ? src6[i]! : bits <= 0 ? 0 : src6[i]! & (0xff << (8 - bits)) & 0xff;
    }
  }
  const dst6 = flow.dstAddr6;
  if (useFwmark) {
    // union nf_inet_addr fwmark = { .ip = htonl(svc->fwmark) }
    const m = svc.fwmark >>> 0;
    const v4 = svc.family === 'ipv4';
    out.vaddr4 = v4 ? m : 0;
    out.vaddr6.fill(0);
    if (!v4) {
      out.vaddr6[0] = m >>> 24;
      out.vaddr6[1] = (m >>> 16) & 0xff;
      out.vaddr6[2] = (m >>> 8) & 0xff;
      out.vaddr6[3] = m & 0xff;
    }
  } else if (dst6 === null) {
    out.vaddr4 = flow.dstAddr4 >>> 0;
    out.vaddr6.fill(0);
  } else {
    out.vaddr4 = 0;
    out.vaddr6.set(dst6);
  }
  return out;
}

/** True when two template keys are the same template. */
export function samePersistenceKey(a: PersistenceKey, b: PersistenceKey): boolean {
  if (a.proto !== b.proto || a.caddr4 !== b.caddr4 || a.vaddr4 !== b.vaddr4 || a.vport !== b.vport || a.cport !== b.cport) return false;
  for (let i = 0; i < 16; i++) if (a.caddr6[i] !== b.caddr6[i] || a.vaddr6[i] !== b.vaddr6[i]) return false;
  return true;
}
