/**
 * The daemon's `table netdev lvsd` (ARCHITECTURE D4): on the ingress of each interface the
 * forwarding core serves, drop what the core owns so the kernel never answers it (RSTs for
 * VIP traffic, forwarding of un-NATed replies): frames for claimed core VIPs, and NAT reply
 * tuples from real servers (RIP:rport → anything but the director's own addresses, so
 * health-check replies still reach the checkers; rport a range for real servers with port 0,
 * src/forward/nft-spec.ts). The AF_PACKET tap sees every frame before
 * the netdev hook drops it.
 *
 * The whole table is replaced atomically with one `nft -f -` transaction (create, delete,
 * create: the idiom for "replace or create"); `removeLvsdTable()` clears a crashed
 * predecessor's table at start.
 */
import { spawn } from 'node:child_process';
import { LvsdError } from '../lib/errors.js';
import { ipFamily } from '../lib/ip.js';

/** Table name (family netdev). */
export const NFT_TABLE = 'lvsd';

/** What the table must drop. */
export interface NftSpec {
  /** Interfaces whose ingress gets a chain. */
  readonly interfaces: readonly string[];
  /** Claimed core VIPs (any family). */
  readonly vips: readonly string[];
  /**
   * Where NAT replies come from: real server address, protocol and source port, or the
   * source ports `port`..`portMax` (inclusive) for a real server with port 0, which keeps
   * the packet's port (firewall-mark and VIP:0 services: every virtual port it serves).
   */
  readonly natReals: readonly NatReplySource[];
  /** The director's own addresses (replies to them are health checks: never dropped). */
  readonly localAddresses: readonly string[];
}

/** One source of NAT replies (see {@link NftSpec.natReals}). */
export interface NatReplySource {
  readonly address: string;
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  /** Last port of a range (default: `port`). */
  readonly portMax?: number;
}

/**
 * The set elements of one family and protocol: per address, its port ranges merged (an
 * interval set refuses overlapping elements), as `addr . port` or `addr . lo-hi`; and
 * whether any element is a range (the set then needs `flags interval`).
 */
function natElements(els: readonly NatReplySource[]): { text: string[]; ranges: boolean } {
  const byAddr = new Map<string, [number, number][]>();
  for (const r of els) {
    const lo = Math.max(0, Math.min(65535, r.port));
    const hi = Math.max(lo, Math.min(65535, r.portMax ?? r.port));
    const l = byAddr.get(r.address) ?? [];
    l.push([lo, hi]);
    byAddr.set(r.address, l);
  }
  const text: string[] = [];
  let ranges = false;
  for (const [addr, list] of byAddr) {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const merged: [number, number][] = [];
    for (const [lo, hi] of list) {
      const last = merged[merged.length - 1];
      if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
      else merged.push([lo, hi]);
    }
    for (const [lo, hi] of merged) {
      if (lo === hi) text.push(`${addr} . ${lo}`);
      else {
        text.push(`${addr} . ${lo}-${hi}`);
        ranges = true;
      }
    }
  }
  return { text, ranges };
}

function chainName(ifname: string): string {
  return `in_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function quoteIf(ifname: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname)) throw new LvsdError('ERR_NFT_BAD_INTERFACE', `bad interface name ${JSON.stringify(ifname)}`);
  return `"${ifname}"`;
}

/** The nft script that replaces the table with one built from spec (pure; tested as text). */
export function buildRuleset(spec: NftSpec): string {
  const v4 = spec.vips.filter((a) => ipFamily(a) === 'ipv4');
  const v6 = spec.vips.filter((a) => ipFamily(a) === 'ipv6');
  const local4 = spec.localAddresses.filter((a) => ipFamily(a) === 'ipv4');
  const local6 = spec.localAddresses.filter((a) => ipFamily(a) === 'ipv6');
  const lines: string[] = [];
  lines.push(`table netdev ${NFT_TABLE} {}`, `delete table netdev ${NFT_TABLE}`, `table netdev ${NFT_TABLE} {`);
  if (v4.length) lines.push(`  set vip4 { type ipv4_addr; elements = { ${v4.join(', ')} } }`);
  if (v6.length) lines.push(`  set vip6 { type ipv6_addr; elements = { ${v6.join(', ')} } }`);
  if (local4.length) lines.push(`  set local4 { type ipv4_addr; elements = { ${local4.join(', ')} } }`);
  if (local6.length) lines.push(`  set local6 { type ipv6_addr; elements = { ${local6.join(', ')} } }`);
  for (const proto of ['tcp', 'udp'] as const) {
    for (const fam of ['4', '6'] as const) {
      const els = spec.natReals.filter((r) => r.proto === proto && ipFamily(r.address) === (fam === '4' ? 'ipv4' : 'ipv6'));
      if (!els.length) continue;
      const type = fam === '4' ? 'ipv4_addr' : 'ipv6_addr';
      // Port ranges (port-0 real servers) need an interval set of the concatenation
      // (nft_set_pipapo, Linux 5.6+, nft 0.9.4+).
      const { text, ranges } = natElements(els);
      lines.push(`  set nat${fam}_${proto} { type ${type} . inet_service;${ranges ? ' flags interval;' : ''} elements = { ${text.join(', ')} } }`);
    }
  }
  for (const ifname of [...new Set(spec.interfaces)]) {
    lines.push(`  chain ${chainName(ifname)} {`, `    type filter hook ingress device ${quoteIf(ifname)} priority -500; policy accept;`);
    if (v4.length) lines.push('    ip daddr @vip4 drop');
    if (v6.length) lines.push('    ip6 daddr @vip6 drop');
    for (const proto of ['tcp', 'udp'] as const) {
      if (spec.natReals.some((r) => r.proto === proto && ipFamily(r.address) === 'ipv4')) {
        lines.push(`    ip saddr . ${proto} sport @nat4_${proto}${local4.length ? ' ip daddr != @local4' : ''} drop`);
      }
      if (spec.natReals.some((r) => r.proto === proto && ipFamily(r.address) === 'ipv6')) {
        lines.push(`    ip6 saddr . ${proto} sport @nat6_${proto}${local6.length ? ' ip6 daddr != @local6' : ''} drop`);
      }
    }
    lines.push('  }');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Runs `nft -f -` with script on stdin; rejects with ERR_NFT_FAILED and nft's stderr. */
export function runNft(script: string, nftPath = 'nft', timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LvsdError('ERR_NFT_FAILED', `cannot run ${nftPath}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new LvsdError('ERR_NFT_FAILED', `nft -f - exited ${code}: ${err.trim()}`));
    });
    child.stdin.end(script);
  });
}

/** The port the forwarding subsystem uses (a double records scripts in tests). */
export interface NftPort {
  /** Replaces the table atomically. */
  apply(spec: NftSpec): Promise<void>;
  /** Removes the table (no error when absent). */
  remove(): Promise<void>;
}

/** The real adapter: runs nft in the current network namespace. */
export function nftAdapter(nftPath = 'nft'): NftPort {
  return {
    apply: (spec) => runNft(buildRuleset(spec), nftPath),
    // "create then delete" removes it whether or not a predecessor left one.
    remove: () => runNft(`table netdev ${NFT_TABLE} {}\ndelete table netdev ${NFT_TABLE}\n`, nftPath),
  };
}
