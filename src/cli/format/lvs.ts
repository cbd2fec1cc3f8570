/**
 * ipvsadm's listing layouts for `lvsadm -L -n` and friends, from the `lvs` and `trace`
 * control commands' results (src/forward/subsystem.ts). Column formats are ipvsadm.c's
 * (print_title, print_service_entry, print_sched_flags, print_largenum, print_conn,
 * list_timeout), so scripts that parse ipvsadm output keep working. One row per IPVS
 * service: a virtual_server_group's entries are listed one by one, as keepalived creates
 * them. Services are sorted as libipvs ipvs_cmp_services (fwmark, family, protocol, address,
 * port) and real servers as ipvs_cmp_dests (family, address, port).
 */
import type { LvsResult, LvsService, LvsReal } from '../../forward/subsystem.js';
import type { TraceResult } from '../../forward/pipeline.js';
import { parseIPv4, parseIPv6 } from '../../lib/ip.js';

/** Listing options, as lvsadm parses them. */
export interface ListOpts {
  readonly stats?: boolean;
  readonly rate?: boolean;
  readonly exact?: boolean;
  readonly thresholds?: boolean;
  readonly persistentConn?: boolean;
}

function padR(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function padL(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** ipvsadm print_largenum(): " %8llu" below 100 million, then K/M/G/T; exact with --exact. */
export function largeNum(i: number, exact = false): string {
  const n = Math.max(0, Math.floor(i));
  if (exact) {
    const s = String(n);
    return padL(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (n < 1e8) return padL(String(n), 9);
  if (n < 1e9) return padL(String(Math.floor(n / 1e3)), 8) + 'K';
  if (n < 1e11) return padL(String(Math.floor(n / 1e6)), 8) + 'M';
  if (n < 1e14) return padL(String(Math.floor(n / 1e9)), 8) + 'G';
  return padL(String(Math.floor(n / 1e12)), 8) + 'T';
}

/** An address without `[...]` and `:port` (a service's `198.18.0.10:80`, `[2001:db8::10]:80`, or a bare real server address). */
function bareAddress(a: string): string {
  const v6 = /^\[(.+)\]:\d+$/.exec(a);
  if (v6) return v6[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(a);
  return v4 ? v4[1]! : a;
}

/** Sort key of an address as its bytes (ipvs_cmp_services / ipvs_cmp_dests compare them in network order). */
function addrKey(a: string): string {
  const bare = bareAddress(a);
  const v4 = parseIPv4(bare);
  if (v4 !== null) return '4' + (v4 >>> 0).toString(16).padStart(8, '0');
  const v6 = parseIPv6(bare);
  if (v6) return '6' + [...v6].map((b) => b.toString(16).padStart(2, '0')).join('');
  return '9' + a;
}

function portOf(address: string): number {
  const m = /:(\d+)$/.exec(address);
  return m ? Number(m[1]) : 0;
}

/** print_service_entry's svc_name: `FWM  5`, `FWM  5 IPv6`, `TCP  198.18.0.10:80` (IPv4 cut at 33). */
function svcName(s: LvsService): string {
  if (s.fwmark) return s.family === 'ipv6' ? `FWM  ${s.fwmark} IPv6` : `FWM  ${s.fwmark}`;
  const n = `${s.protocol}  ${s.address}`;
  return s.family === 'ipv6' ? n : n.slice(0, 33);
}

/** ipvsadm's print_service_entry: brackets by the real server's family (addrport_to_anyname(e->af)), cut at 28 under an IPv4 service. */
function realName(s: LvsService, r: LvsReal): string {
  const a = r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
  return s.family === 'ipv6' ? a : a.slice(0, 28);
}

function sortServices(list: readonly LvsService[]): LvsService[] {
  const fam = (s: LvsService) => (s.family === 'ipv4' ? 0 : 1);
  return [...list].sort((a, b) => a.fwmark - b.fwmark || fam(a) - fam(b) || a.protocol.localeCompare(b.protocol) ||
    (a.fwmark ? 0 : addrKey(a.address).localeCompare(addrKey(b.address)) || portOf(a.address) - portOf(b.address)));
}

function sortReals(list: readonly LvsReal[]): LvsReal[] {
  return [...list].sort((a, b) => addrKey(a.address).localeCompare(addrKey(b.address)) || a.port - b.port);
}

/** `lvsadm -L -n [--stats|--rate|--thresholds|--persistent-conn] [--exact]`. */
export function formatList(result: LvsResult, opts: ListOpts = {}): string {
  const out: string[] = [];
  out.push(`IP Virtual Server version 1.2.1 (size=${result.connTableSize})`);
  if (opts.stats) {
    out.push(`${padR('Prot LocalAddress:Port', 33)} ${padL('Conns', 8)} ${padL('InPkts', 8)} ${padL('OutPkts', 8)} ${padL('InBytes', 8)} ${padL('OutBytes', 8)}`, '  -> RemoteAddress:Port');
  } else if (opts.rate) {
    out.push(`${padR('Prot LocalAddress:Port', 33)} ${padL('CPS', 8)} ${padL('InPPS', 8)} ${padL('OutPPS', 8)} ${padL('InBPS', 8)} ${padL('OutBPS', 8)}`, '  -> RemoteAddress:Port');
  } else if (opts.thresholds) {
    // print_title: "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n"
    out.push(`${padR('Prot LocalAddress:Port', 33)} ${padR('Uthreshold', 10)} ${padR('Lthreshold', 10)} ${padR('ActiveConn', 10)} ${padR('InActConn', 10)}`, '  -> RemoteAddress:Port');
  } else if (opts.persistentConn) {
    // print_title: "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n"
    out.push(`${padR('Prot LocalAddress:Port', 33)} ${padR('Weight', 9)} ${padR('PersistConn', 11)} ${padR('ActiveConn', 10)} ${padR('InActConn', 10)}`, '  -> RemoteAddress:Port');
  } else {
    out.push('Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn');
  }
  const x = !!opts.exact;
  for (const s of sortServices(result.services)) {
    const name = svcName(s);
    if (opts.stats) {
      const st = s.stats;
      out.push(padR(name, 33) + largeNum(st.conns, x) + largeNum(st.inpkts, x) + largeNum(st.outpkts, x) + largeNum(st.inbytes, x) + largeNum(st.outbytes, x));
    } else if (opts.rate) {
      const r = s.rates;
      out.push(padR(name, 33) + largeNum(r.cps, x) + largeNum(r.inpps, x) + largeNum(r.outpps, x) + largeNum(r.inbps, x) + largeNum(r.outbps, x));
    } else {
      let line = `${name} ${s.scheduler}`;
      // print_sched_flags(): " (sh-fallback,sh-port)" when any scheduler flag is set.
      if (s.schedulerFlags.length) line += ` (${s.schedulerFlags.join(',')})`;
      if (s.persistentS > 0) {
        line += ` persistent ${s.persistentS}`;
        if (s.family === 'ipv4' && s.granularity !== 32) line += ` mask ${maskText(s.granularity)}`;
        if (s.family === 'ipv6' && s.granularity !== 128) line += ` mask ${s.granularity}`;
      }
      if (s.ops) line += ' ops';
      out.push(line);
    }
    for (const r of sortReals(s.reals.filter((rr) => rr.inService))) {
      const dn = realName(s, r);
      if (opts.stats) {
        const st = r.stats;
        out.push(`  -> ${padR(dn, 28)}` + largeNum(st.conns, x) + largeNum(st.inpkts, x) + largeNum(st.outpkts, x) + largeNum(st.inbytes, x) + largeNum(st.outbytes, x));
      } else if (opts.rate) {
        const rt = r.rates;
        out.push(`  -> ${padR(dn, 28)} ${padL(String(rt.cps), 8)} ${padL(String(rt.inpps), 8)} ${padL(String(rt.outpps), 8)}` + largeNum(rt.inbps, x) + largeNum(rt.outbps, x));
      } else if (opts.thresholds) {
        out.push(`  -> ${padR(dn, 28)} ${padR(String(r.upperThreshold), 10)} ${padR(String(r.lowerThreshold), 10)} ${padR(String(r.activeConns), 10)} ${padR(String(r.inactiveConns), 10)}`);
      } else if (opts.persistentConn) {
        out.push(`  -> ${padR(dn, 28)} ${padR(String(r.weight), 9)} ${padR(String(r.persistConns), 11)} ${padR(String(r.activeConns), 10)} ${padR(String(r.inactiveConns), 10)}`);
      } else {
        out.push(`  -> ${padR(dn, 28)} ${padR(r.forward, 7)} ${padR(String(r.weight), 6)} ${padR(String(r.activeConns), 10)} ${padR(String(r.inactiveConns), 10)}`);
      }
    }
  }
  return out.join('\n') + '\n';
}

function maskText(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
}

/** `lvsadm -L -n -c` (ipvsadm print_conn). */
export function formatConnections(result: LvsResult): string {
  const conns = result.conns ?? [];
  // FULLNAT connections add a `local` column (the local address and port the real server
  // sees) before the destination, as dpvs's ipvsadm lists them.
  const local = conns.some((c) => c.local);
  const out = ['IPVS connection entries', `pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} ${local ? `${padR('local', 18)} ` : ''}destination`];
  for (const c of conns) {
    const e = `${String(Math.floor(c.expireS / 60)).padStart(2, '0')}:${String(c.expireS % 60).padStart(2, '0')}`;
    out.push(`${padR(c.proto, 3)} ${padR(e, 6)} ${padR(c.state, 11)} ${padR(c.source, 18)} ${padR(c.virtual, 18)} ${local ? `${padR(c.local ?? '-', 18)} ` : ''}${c.destination}`);
  }
  return out.join('\n') + '\n';
}

/** `lvsadm -L --timeout` (ipvsadm list_timeout). */
export function formatTimeout(result: LvsResult): string {
  return `Timeout (tcp tcpfin udp): ${result.timeouts.tcp} ${result.timeouts.tcpfin} ${result.timeouts.udp}\n`;
}

/** `lvsadm trace tcp CIP:PORT VIP:PORT`. */
export function formatTrace(t: TraceResult): string {
  const lines = [`flow:        ${t.flow}`];
  const of = t.virtualServer && t.virtualServer !== t.service ? `virtual_server ${t.virtualServer}, ` : '';
  lines.push(`service:     ${t.service ?? '(none)'}${t.matchedBy ? ` (${of}matched by ${t.matchedBy}${t.fwmark ? `, fwmark ${t.fwmark}` : ''})` : ''}${t.service && !t.serviceActive ? ' [inactive]' : ''}`);
  if (t.existingConnection) lines.push(`connection:  ${t.existingConnection.state} to ${t.existingConnection.dest}, expires in ${Math.round(t.existingConnection.expiresInS)} s`);
  if (t.persistence) lines.push(`persistence: template ${t.persistence.template}: ${t.persistence.hit ? `hit → ${t.persistence.dest}` : 'miss (scheduled anew)'}`);
  if (t.scheduler) lines.push(`scheduler:   ${t.scheduler}`);
  lines.push(`real server: ${t.dest ?? '(none)'}${t.method ? ` via ${t.method}` : ''}`);
  if (t.local) lines.push(`local:       ${t.local.address || '(none)'}${t.local.port !== null ? `:${t.local.port}` : ''} (${t.local.why})`);
  lines.push(`why:         ${t.reason}`);
  return lines.join('\n') + '\n';
}

/**
 * Formatters by lvsadm view (list, connections, timeout, zero, trace), for
 * src/cli/format/index.ts; args are the lvsadm listing flags.
 */
export const lvsFormatters: Record<string, (result: unknown, args: Record<string, unknown>) => string> = {
  list: (r, a) => formatList(r as LvsResult, { stats: !!a.stats, rate: !!a.rate, exact: !!a.exact, thresholds: !!a.thresholds, persistentConn: !!a.persistentConn }),
  connections: (r) => formatConnections(r as LvsResult),
  timeout: (r) => formatTimeout(r as LvsResult),
  zero: () => '',
  trace: (r) => formatTrace(r as TraceResult),
};
