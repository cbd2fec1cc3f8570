/**
 * ipvsadm's listing layouts for `lvsadm -L -n` and friends, from the `lvs` and `trace`
 * control commands' results (src/forward/subsystem.ts). Column formats are ipvsadm.c's
 * (print_title, print_service_entry, print_largenum, print_conn, list_timeout), so scripts
 * that parse ipvsadm output keep working. Services are sorted as ipvs_cmp_services (fwmark,
 * protocol, address, port) and real servers as ipvs_cmp_dests (address, port).
 */
import type { LvsResult, LvsService, LvsReal } from '../../forward/subsystem.js';
import type { TraceResult } from '../../forward/pipeline.js';

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

function addrKey(a: string): string {
  // Sort key: IPv4 numerically, IPv6 lexically after IPv4.
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(a);
  if (m) return '4' + m.slice(1, 5).map((x) => x.padStart(3, '0')).join('.');
  return '6' + a;
}

function svcName(s: LvsService): string {
  if (s.fwmark) return s.family === 'ipv6' ? `FWM  ${s.fwmark} IPv6` : `FWM  ${s.fwmark}`;
  if (s.group) return `${s.protocol}  group:${s.group}`;
  return `${s.protocol}  ${s.address}`;
}

function realName(s: LvsService, r: LvsReal): string {
  const a = s.family === 'ipv6' || r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
  return s.family === 'ipv6' ? a : a.slice(0, 28);
}

function sortServices(list: readonly LvsService[]): LvsService[] {
  return [...list].sort((a, b) => a.fwmark - b.fwmark || a.protocol.localeCompare(b.protocol) ||
    addrKey(a.address).localeCompare(addrKey(b.address)) || Number(a.address.split(':').pop()) - Number(b.address.split(':').pop()));
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
    out.push('Prot LocalAddress:Port', '  -> RemoteAddress:Port            Uthreshold Lthreshold ActiveConn InActConn');
  } else if (opts.persistentConn) {
    out.push('Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn', '  -> RemoteAddress:Port');
  } else {
    out.push('Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn');
  }
  const x = !!opts.exact;
  for (const s of sortServices(result.services)) {
    const name = svcName(s);
    if (opts.stats) {
      const st = s.stats;
      out.push(padR(s.family === 'ipv6' ? name : name.slice(0, 33), 33) + largeNum(st.conns, x) + largeNum(st.inpkts, x) + largeNum(st.outpkts, x) + largeNum(st.inbytes, x) + largeNum(st.outbytes, x));
    } else if (opts.rate) {
      const r = s.rates;
      out.push(padR(name, 33) + largeNum(r.cps, x) + largeNum(r.inpps, x) + largeNum(r.outpps, x) + largeNum(r.inbps, x) + largeNum(r.outbps, x));
    } else {
      let line = `${name} ${s.scheduler}`;
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
  const out = ['IPVS connection entries', `pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} destination`];
  for (const c of result.conns ?? []) {
    const e = `${String(Math.floor(c.expireS / 60)).padStart(2, '0')}:${String(c.expireS % 60).padStart(2, '0')}`;
    out.push(`${padR(c.proto, 3)} ${padR(e, 6)} ${padR(c.state, 11)} ${padR(c.source, 18)} ${padR(c.virtual, 18)} ${c.destination}`);
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
  lines.push(`service:     ${t.service ?? '(none)'}${t.matchedBy ? ` (matched by ${t.matchedBy}${t.fwmark ? `, fwmark ${t.fwmark}` : ''})` : ''}${t.service && !t.serviceActive ? ' [inactive]' : ''}`);
  if (t.existingConnection) lines.push(`connection:  ${t.existingConnection.state} to ${t.existingConnection.dest}, expires in ${Math.round(t.existingConnection.expiresInS)} s`);
  if (t.persistence) lines.push(`persistence: template ${t.persistence.template}: ${t.persistence.hit ? `hit → ${t.persistence.dest}` : 'miss (scheduled anew)'}`);
  if (t.scheduler) lines.push(`scheduler:   ${t.scheduler}`);
  lines.push(`real server: ${t.dest ?? '(none)'}${t.method ? ` via ${t.method}` : ''}`);
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
