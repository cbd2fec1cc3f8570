/**
 * Who owns each VIP (ARCHITECTURE D4), and which VRRP instance and interface each virtual
 * server follows.
 *
 * A VIP is `core` (answered and forwarded by lvsd's userspace core, never a kernel address)
 * when
 * - a virtual server uses it: its address, an address of its virtual_server_group, or an
 *   address its fwmark_rules match (reason `virtual_server`), or
 * - it lies inside the subnet of a NAT real server (or NAT sorry server), taking the VIP's
 *   own prefix length: it is the real servers' gateway, the core must see their replies
 *   (reason `nat_gateway`);
 * otherwise it is a `kernel` address for a local service (`local_service`). A VIP's
 * `lvsd_owner core|kernel` overrides the choice (`override`).
 *
 * A virtual server follows the vrrp_instance whose virtual_ipaddress (or _excluded) holds
 * its addresses and is received on that VIP's interface; with no such instance it is served
 * on global `lvs_interface` (its addresses claimed at start, `instance: null`); with neither
 * it is an error that says both ways out.
 */
import type { Family } from '../lib/ip.js';
import { sameSubnet } from '../lib/ip.js';
import { CODES } from './diagnostics.js';
import type { CoreVip, GlobalDefs, Vip, VirtualServer, VrrpInstance } from './types.js';

/** Addresses of one virtual server, as compile() gathered them. */
export interface ServiceAddresses {
  readonly exact: readonly string[];
  readonly prefixes: ReadonlyArray<{ readonly address: string; readonly prefixLen: number }>;
}

export interface OwnershipInput {
  readonly global: GlobalDefs;
  /** FULLNAT local addresses: a VIP that is one is core-owned (`fnat_local`), the replies to it are the core's. */
  readonly localAddresses?: ReadonlySet<string>;
  readonly instances: readonly VrrpInstance[];
  readonly services: ReadonlyArray<{ readonly vs: Omit<VirtualServer, 'ownerInstance' | 'interface'>; readonly path: string; readonly addrs: ServiceAddresses }>;
  readonly error: (code: string, path: string, msg: string) => void;
  readonly warn: (code: string, path: string, msg: string) => void;
}

export interface OwnershipResult {
  readonly instances: VrrpInstance[];
  readonly services: VirtualServer[];
  readonly coreVips: Record<string, CoreVip>;
}

/** Most addresses of a prefix lvsd claims on lvs_interface (a bigger one must be listed as VIPs). */
const MAX_CLAIM = 4096;

const famOf = (a: string): Family => (a.includes(':') ? 'ipv6' : 'ipv4');
const hostLen = (f: Family): number => (f === 'ipv4' ? 32 : 128);

/** Resolves VIP owners, service owners and the core VIP table. */
export function resolveOwnership(inp: OwnershipInput): OwnershipResult {
  const served = new Set<string>();
  const servedPrefixes: Array<{ address: string; prefixLen: number }> = [];
  const natServers: Array<{ address: string; family: Family }> = [];
  for (const s of inp.services) {
    for (const a of s.addrs.exact) served.add(a);
    servedPrefixes.push(...s.addrs.prefixes);
    for (const rs of Object.values(s.vs.realServers)) if (rs.method === 'NAT') natServers.push({ address: rs.address, family: rs.family });
    const ss = s.vs.sorryServer;
    if (ss && ss.method === 'NAT') natServers.push({ address: ss.address, family: famOf(ss.address) });
  }
  const inPrefix = (addr: string, p: { address: string; prefixLen: number }) =>
    famOf(addr) === famOf(p.address) && sameSubnet(addr, p.address, p.prefixLen);

  const ownerOf = (v: Vip): Pick<Vip, 'owner' | 'ownerReason'> => {
    if (v.ownerReason === 'override') return { owner: v.owner, ownerReason: 'override' };
    if (served.has(v.address) || servedPrefixes.some((p) => inPrefix(v.address, p))) return { owner: 'core', ownerReason: 'virtual_server' };
    if (inp.localAddresses?.has(v.address)) return { owner: 'core', ownerReason: 'fnat_local' };
    if (v.prefixLen < hostLen(v.family) &&
        natServers.some((rs) => rs.family === v.family && rs.address !== v.address && sameSubnet(v.address, rs.address, v.prefixLen))) {
      return { owner: 'core', ownerReason: 'nat_gateway' };
    }
    return { owner: 'kernel', ownerReason: 'local_service' };
  };

  const instances = inp.instances.map((inst) => ({
    ...inst,
    vips: inst.vips.map((v) => ({ ...v, ...ownerOf(v) })),
    excludedVips: inst.excludedVips.map((v) => ({ ...v, ...ownerOf(v) })),
  }));

  const vipIndex = new Map<string, { inst: VrrpInstance; vip: Vip }>();
  for (const inst of instances) {
    for (const vip of [...inst.vips, ...inst.excludedVips]) if (!vipIndex.has(vip.address)) vipIndex.set(vip.address, { inst, vip });
  }

  const coreVips: Record<string, CoreVip> = {};
  for (const inst of instances) {
    for (const vip of [...inst.vips, ...inst.excludedVips]) {
      if (vip.owner === 'core' && !coreVips[vip.address]) {
        coreVips[vip.address] = { address: vip.address, family: vip.family, interface: vip.dev, instance: inst.name, reason: vip.ownerReason };
      }
    }
  }

  const services: VirtualServer[] = [];
  for (const s of inp.services) {
    const owners: string[] = [];
    let iface: string | null = null;
    const uncovered: string[] = [];
    const hit = (inst: VrrpInstance, vip: Vip) => {
      if (!owners.includes(inst.name)) owners.push(inst.name);
      iface ??= vip.dev;
      if (vip.owner === 'kernel') {
        inp.warn(CODES.W_ADJUSTED, s.path,
          `VIP ${vip.address} (vrrp_instance \`${inst.name}\`) serves this virtual_server but is set \`lvsd_owner kernel\`: the kernel, not lvsd, will answer for it`);
      }
    };
    for (const a of s.addrs.exact) {
      const h = vipIndex.get(a);
      if (h) hit(h.inst, h.vip);
      else uncovered.push(a);
    }
    const uncoveredPrefixes: Array<{ address: string; prefixLen: number }> = [];
    for (const p of s.addrs.prefixes) {
      let any = false;
      for (const { inst, vip } of vipIndex.values()) {
        if (inPrefix(vip.address, p)) {
          hit(inst, vip);
          any = true;
        }
      }
      if (!any) uncoveredPrefixes.push(p);
    }
    const what = `virtual_server ${s.vs.key}`;
    if (owners.length === 0) {
      const lvsIf = inp.global.lvsInterface;
      if (!lvsIf) {
        const addrList = [...s.addrs.exact.slice(0, 3), ...s.addrs.prefixes.slice(0, 1).map((p) => `${p.address}/${p.prefixLen}`)];
        const more = s.addrs.exact.length + s.addrs.prefixes.length > addrList.length ? ', ...' : '';
        inp.error(CODES.OWNERSHIP, s.path,
          `${what}: no vrrp_instance holds ${addrList.join(', ')}${more} in its virtual_ipaddress, and global_defs sets no \`lvs_interface\`. `
          + 'Either add the address to the virtual_ipaddress of the vrrp_instance that should own it (it then moves with that instance\'s MASTER state), '
          + 'or set `lvs_interface IFNAME` in global_defs to serve it on that interface without VRRP.');
        continue;
      }
      for (const a of s.addrs.exact) {
        if (!coreVips[a]) coreVips[a] = { address: a, family: famOf(a), interface: lvsIf, instance: null, reason: 'virtual_server' };
      }
      for (const p of s.addrs.prefixes) {
        const bits = hostLen(famOf(p.address)) - p.prefixLen;
        if (bits > 12) {
          inp.error(CODES.OWNERSHIP, s.path,
            `${what}: fwmark rule prefix ${p.address}/${p.prefixLen} has too many addresses to claim on lvs_interface (at most ${MAX_CLAIM}); list the addresses this service answers for in a vrrp_instance's virtual_ipaddress`);
          continue;
        }
        for (const a of prefixAddresses(p.address, p.prefixLen)) {
          if (!coreVips[a]) coreVips[a] = { address: a, family: famOf(a), interface: lvsIf, instance: null, reason: 'virtual_server' };
        }
      }
      services.push({ ...s.vs, ownerInstance: null, interface: lvsIf });
      continue;
    }
    if (uncovered.length || uncoveredPrefixes.length) {
      const list = [...uncovered.slice(0, 5), ...uncoveredPrefixes.slice(0, 2).map((p) => `${p.address}/${p.prefixLen}`)];
      const total = uncovered.length + uncoveredPrefixes.length;
      inp.error(CODES.OWNERSHIP, s.path,
        `${what}: ${list.join(', ')}${total > list.length ? `, ... (${total} in all)` : ''} ${total === 1 ? 'is' : 'are'} in no vrrp_instance while other addresses of this service are in \`${owners[0]}\`; `
        + `add ${total === 1 ? 'it' : 'them'} to that instance's virtual_ipaddress (or virtual_ipaddress_excluded)`);
      continue;
    }
    if (owners.length > 1) {
      const groups = new Set(owners.map((o) => instances.find((i) => i.name === o)!.syncGroup));
      if (groups.size !== 1 || groups.has(null)) {
        inp.error(CODES.OWNERSHIP, s.path,
          `${what}: its addresses are held by several vrrp_instances (${owners.map((o) => `\`${o}\``).join(', ')}) that are not in one vrrp_sync_group; a service must follow one VRRP state`);
        continue;
      }
    }
    services.push({ ...s.vs, ownerInstance: owners[0]!, interface: iface! });
  }
  for (const vs of services) {
    if (vs.haSuspend && vs.ownerInstance === null) {
      const s = inp.services.find((x) => x.vs.key === vs.key)!;
      inp.warn(CODES.W_ADJUSTED, s.path, `virtual_server ${vs.key}: ha_suspend has no effect without a vrrp_instance holding its address`);
    }
  }
  return { instances, services, coreVips };
}

/** Every address of a small prefix (callers keep it at most MAX_CLAIM addresses). */
function prefixAddresses(address: string, prefixLen: number): string[] {
  const out: string[] = [];
  if (famOf(address) === 'ipv4') {
    const v = address.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
    const size = 2 ** (32 - prefixLen);
    const base = v - (v % size);
    for (let i = 0; i < size; i++) {
      const x = base + i;
      out.push(`${Math.floor(x / 16777216) % 256}.${Math.floor(x / 65536) % 256}.${Math.floor(x / 256) % 256}.${x % 256}`);
    }
    return out;
  }
  const [head, tail] = address.includes('::') ? (address.split('::') as [string, string]) : [address, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  let v = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
  const size = 1n << BigInt(128 - prefixLen);
  v -= v % size;
  for (let i = 0n; i < size; i++) {
    const x = v + i;
    const g: string[] = [];
    for (let k = 7; k >= 0; k--) g.push(((x >> BigInt(k * 16)) & 0xffffn).toString(16));
    out.push(canonical6(g));
  }
  return out;
}

function canonical6(g: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  return best < 0 ? g.join(':') : `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}
