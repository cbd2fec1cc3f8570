/**
 * The keyword table: every keyword of every block, what it takes, how its words parse, and
 * its documentation (docs/configuration.md's keyword reference is generated from this table,
 * see `renderKeywordReference`). Both syntaxes (keepalived.conf and YAML) are read against
 * it, and the convict schema (src/config/schema.ts) is built from it.
 *
 * Kinds:
 * - `leaf`        keyword line: `priority 100`; `canonical` folds a legacy alias;
 * - `block`       a fixed sub-block: `authentication { ... }`;
 * - `named`       a collection keyed by one name: `vrrp_instance VI_1 { ... }`;
 * - `keyed`       a collection keyed by header words, which may repeat: `virtual_server 198.18.0.10 80 { ... }`;
 * - `repeat`      an unnamed block that may appear several times: `TCP_CHECK { ... }`;
 * - `list`        a value block whose lines are data: `virtual_ipaddress { 198.18.0.10/24 dev eth0 }`;
 * - `namedList`   a collection keyed by one name whose body is data lines: `virtual_server_group web { ... }`;
 * - `unsupported` a keepalived keyword lvsd accepts (anything after it, block or not) and
 *                 warns about: "accepted, not supported yet".
 *
 * Sources: keepalived.conf(5) of keepalived 2.2.7 and its parsers (keepalived/core/global_parser.c,
 * keepalived/vrrp/vrrp_parser.c, keepalived/check/check_parser.c, check_api.c, check_http.c,
 * check_misc.c); keyword spellings cross-checked against the keepalived 2.2.7 binary.
 */
import type { Family } from '../lib/ip.js';
import { canonicalIp, ipFamily, parseIPv4, formatIPv4, parseIPv6 } from '../lib/ip.js';
import type {
  VFwmarkLine, VHostPort, VInitFile, VLaddrLine, VLvsSyncDaemon, VLvsTimeouts, VMethod, VTrackLine, VUnicastPeer, VVipLine, VVsgLine, VWeight, VsHeader,
} from '../model/validated.js';
import type { ScriptCommand, ScriptUser, SchedulerName } from '../model/types.js';
import {
  Words, command, flag, hostPort, ifname, int, ip, ipPrefix, oneOf, port, script, scriptUser, timerMs, weightClause, word,
} from './values.js';

/** Documentation carried by every table entry. */
export interface KwDoc {
  /** What follows the keyword, e.g. `N` or `IP [PORT]` (empty for flags and blocks). */
  readonly syntax?: string;
  /** Meaning, one or two sentences. */
  readonly doc: string;
  /** Default when not given. */
  readonly def?: string;
  /** Where lvsd differs from keepalived, or what it does not do. */
  readonly compat?: string;
  /** An lvsd extension, not in keepalived. */
  readonly ext?: boolean;
}

/** Parses the words of one line; undefined when it failed (issues are in the Words). */
export type Parser<T = unknown> = (w: Words) => T | undefined;

export interface LeafSpec extends KwDoc {
  readonly t: 'leaf';
  readonly parse: Parser;
  /** The keyword this one is an alias of (value stored under that name). */
  readonly canonical?: string;
  /** keepalived calls this spelling deprecated: say so. */
  readonly deprecated?: string;
  /** The alias sets its canonical keyword to the opposite (`nopreempt` → `preempt` off). */
  readonly inverse?: boolean;
}
export interface BlockKwSpec extends KwDoc { readonly t: 'block'; readonly block: BlockSpec }
export interface NamedSpec extends KwDoc {
  readonly t: 'named';
  readonly block: BlockSpec;
  readonly parseName: Parser;
  readonly canonical?: string;
  readonly deprecated?: string;
}
export interface KeyedSpec extends KwDoc { readonly t: 'keyed'; readonly block: BlockSpec; readonly parseHeader: Parser }
export interface RepeatSpec extends KwDoc { readonly t: 'repeat'; readonly block: BlockSpec }
export interface ListSpec extends KwDoc { readonly t: 'list'; readonly parseLine: Parser; readonly canonical?: string }
export interface UnsupportedSpec extends KwDoc { readonly t: 'unsupported'; readonly deprecated?: string }
/** A collection keyed by one name whose body is data lines: `virtual_server_group NAME { ... }`. */
export interface NamedListSpec extends KwDoc {
  readonly t: 'namedList';
  readonly parseName: Parser;
  readonly parseLine: Parser;
  /** Syntax of one body line. */
  readonly lineSyntax: string;
}

export type KwSpec = LeafSpec | BlockKwSpec | NamedSpec | KeyedSpec | RepeatSpec | ListSpec | UnsupportedSpec | NamedListSpec;

/** A block and the keywords valid in it. */
export interface BlockSpec {
  /** How the block is named in messages and docs (`vrrp_instance`, `real_server`, ...). */
  readonly name: string;
  readonly keywords: Readonly<Record<string, KwSpec>>;
}

// ───────────────────────────── helpers ─────────────────────────────

const leaf = (parse: Parser, d: KwDoc & { canonical?: string; deprecated?: string; inverse?: boolean }): LeafSpec => ({ t: 'leaf', parse, ...d });
const unsupported = (doc: string, extra: Partial<UnsupportedSpec> = {}): UnsupportedSpec => ({ t: 'unsupported', doc, ...extra });
const flagLeaf = (d: KwDoc & { canonical?: string; deprecated?: string }): LeafSpec => leaf(flag, { syntax: '[on|off]', ...d });
const str = (usage: string) => (w: Words) => word(w, usage);
const timer = (minS: number, maxS: number) => (w: Words) => (w.count(1, 1, 'SECONDS') ? timerMs(w, 0, minS, maxS) : undefined);
const integer = (min: number, max: number) => (w: Words) => (w.count(1, 1, 'N') ? int(w, 0, min, max) : undefined);
const scriptLeaf = (doc: string): LeafSpec => leaf(script, { syntax: 'SCRIPT [USER [GROUP]]', doc });

/** `USER [GROUP]`. */
function userParser(w: Words): ScriptUser | undefined {
  if (!w.count(1, 2, 'USER [GROUP]')) return undefined;
  return scriptUser(w, 0);
}

/** A collection name: one word. */
function nameParser(w: Words): string | undefined {
  if (!w.count(1, 1, 'NAME')) return undefined;
  const s = w.at(0)!;
  if (s === '') return w.err(0, 'the name must not be empty');
  return s;
}

/** The scheduler names IPVS knows (ipvsadm(8) `-s`). */
export const SCHEDULERS: readonly SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'lblc', 'lblcr', 'mh', 'fo', 'ovf', 'twos'];

function schedParser(w: Words): SchedulerName | undefined {
  if (!w.count(1, 1, SCHEDULERS.join('|'))) return undefined;
  return oneOf(w, 0, SCHEDULERS);
}

/** What `lvs_method` takes (the docs and messages show it). */
const METHOD_SYNTAX = 'NAT|DR|FNAT|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]';

/**
 * `lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]|FNAT`, with
 * keepalived's rules for the tunnel options (check_parser.c svr_forwarding_handler): in any
 * order; `gue` needs a port and the others take none; `ipip` takes no checksum option but
 * `nocsum`; `gre` not `remcsum`.
 */
function methodParser(w: Words): VMethod | undefined {
  if (w.length === 0) return w.err(null, `${w.what} needs ${METHOD_SYNTAX}`);
  const m = oneOf(w, 0, ['NAT', 'DR', 'TUN', 'FNAT'] as const);
  if (m === undefined) return undefined;
  if (m !== 'TUN') {
    if (w.length > 1) return w.err(1, `unexpected \`${w.at(1)}\` after ${m} (tunnel options go with TUN)`);
    return { method: m };
  }
  let type: 'ipip' | 'gue' | 'gre' = 'ipip';
  let typeAt = -1;
  let port = 0;
  let portAt = -1;
  let csum: 'nocsum' | 'csum' | 'remcsum' = 'nocsum';
  let csumAt = -1;
  for (let i = 1; i < w.length; i++) {
    const word = w.at(i)!;
    if (word === 'type') {
      if (i + 1 >= w.length) return w.err(i, '`type` needs ipip, gue or gre');
      const t = oneOf(w, i + 1, ['ipip', 'gue', 'gre'] as const);
      if (t === undefined) return undefined;
      type = t;
      typeAt = i + 1;
      i++;
    } else if (word === 'port') {
      if (i + 1 >= w.length) return w.err(i, '`port` needs the GUE port (1-65535)');
      const p = int(w, i + 1, 1, 65535, 'the GUE tunnel port');
      if (p === undefined) return undefined;
      port = p;
      portAt = i + 1;
      i++;
    } else if (word === 'nocsum' || word === 'csum' || word === 'remcsum') {
      csum = word;
      csumAt = i;
    } else {
      return w.err(i, `unknown tunnel option \`${word}\` (syntax: ${METHOD_SYNTAX})`);
    }
  }
  if (type === 'gue' && port === 0) return w.err(typeAt, 'a gue tunnel needs `port N` (keepalived: "gue tunnels require port")');
  if (type !== 'gue' && port !== 0) return w.err(portAt, `only gue tunnels take a port, not ${type}`);
  if (type === 'ipip' && csum !== 'nocsum') return w.err(csumAt, `ipip tunnels take no checksum option (\`${csum}\`)`);
  if (type === 'gre' && csum === 'remcsum') return w.err(csumAt, 'gre tunnels do not support the remote checksum option (`remcsum`)');
  return { method: 'TUN', tunnel: { type, port, csum } };
}

/** A fwmark value: 1..2^32-1. */
function fwmarkValue(w: Words, i: number): number | undefined {
  return int(w, i, 1, 4294967295, 'the firewall mark');
}

/** `virtual_server` header: `IP [PORT]`, `fwmark N` or `group NAME`. */
function vsHeaderParser(w: Words): VsHeader | undefined {
  if (w.length === 0) return w.err(null, '`virtual_server` needs IP [PORT], `fwmark N` or `group NAME`');
  if (w.at(0) === 'fwmark') {
    if (!w.count(2, 2, 'fwmark N')) return undefined;
    const m = fwmarkValue(w, 1);
    return m === undefined ? undefined : { kind: 'fwmark', fwmark: m };
  }
  if (w.at(0) === 'group') {
    if (!w.count(2, 2, 'group NAME')) return undefined;
    return { kind: 'group', group: w.at(1)! };
  }
  if (!w.count(1, 2, 'IP [PORT], `fwmark N` or `group NAME`')) return undefined;
  const hp = hostPort(w, 0, true);
  if (!hp) return undefined;
  return { kind: 'addr', address: hp.address, family: hp.family, port: hp.port };
}

function hostPortParser(allowZero: boolean) {
  return (w: Words): VHostPort | undefined => {
    if (!w.count(1, 2, 'IP [PORT]')) return undefined;
    return hostPort(w, 0, allowZero);
  };
}

const SCOPES = ['site', 'link', 'host', 'nowhere', 'global'];
/** Options of a virtual_ipaddress line keepalived has and lvsd does not act on, with their arity. */
const VIP_UNSUPPORTED: Record<string, number> = {
  peer: 1, home: 0, '-nodad': 0, nodad: 0, mngtmpaddr: 0, noprefixroute: 0, autojoin: 0, use_vmac: 0, preferred_lft: 1, track_group: 1,
};

/** A `virtual_ipaddress` line. */
function vipLine(w: Words): VVipLine | undefined {
  const a = ipPrefix(w, 0);
  if (!a) return undefined;
  const out = {
    address: a.address, family: a.family, prefixLen: a.prefixLen ?? (a.family === 'ipv4' ? 32 : 128),
    dev: null as string | null, label: null as string | null, brd: null as string | null, scope: null as string | null,
    noTrack: false, ownerOverride: null as 'core' | 'kernel' | null,
  };
  for (let i = 1; i < w.length; i++) {
    const opt = w.at(i)!;
    const needValue = (): string | undefined => {
      if (i + 1 >= w.length) return w.err(i, `\`${opt}\` needs a value`);
      return w.at(++i)!;
    };
    switch (opt) {
      case 'dev': {
        if (i + 1 >= w.length) return w.err(i, '`dev` needs an interface name');
        const d = ifname(w, ++i);
        if (d === undefined) return undefined;
        out.dev = d;
        break;
      }
      case 'label': {
        const v = needValue();
        if (v === undefined) return undefined;
        out.label = v;
        break;
      }
      case 'brd':
      case 'broadcast': {
        const v = needValue();
        if (v === undefined) return undefined;
        if (v !== '+' && v !== '-') {
          const b = ipFamily(v);
          if (b !== a.family) return w.err(i, `broadcast \`${v}\` is not an ${a.family === 'ipv4' ? 'IPv4' : 'IPv6'} address (or + / -)`);
          out.brd = canonicalIp(v);
        } else {
          out.brd = v;
        }
        break;
      }
      case 'scope': {
        const v = needValue();
        if (v === undefined) return undefined;
        if (!SCOPES.includes(v) && !/^\d+$/.test(v)) return w.err(i, `scope must be one of ${SCOPES.join('|')}, not \`${v}\``);
        out.scope = v;
        break;
      }
      case 'no_track':
        out.noTrack = true;
        break;
      case 'lvsd_owner': {
        const v = needValue();
        if (v === undefined) return undefined;
        if (v !== 'core' && v !== 'kernel') return w.err(i, `lvsd_owner must be core or kernel, not \`${v}\``);
        out.ownerOverride = v;
        break;
      }
      default: {
        const arity = VIP_UNSUPPORTED[opt];
        if (arity === undefined) {
          return w.err(i, `unknown address option \`${opt}\` (valid: dev, label, brd, scope, no_track, lvsd_owner; accepted: ${Object.keys(VIP_UNSUPPORTED).join(', ')})`);
        }
        w.warn(i, `address option \`${opt}\` accepted, not supported yet`);
        i += arity;
        break;
      }
    }
  }
  return out;
}

/** A `unicast_peer` line: `IP [min_ttl N] [max_ttl N]`. */
function unicastPeerLine(w: Words): VUnicastPeer | undefined {
  const a = ip(w, 0);
  if (!a) return undefined;
  let minTtl: number | null = null;
  let maxTtl: number | null = null;
  for (let i = 1; i < w.length; i += 2) {
    const k = w.at(i)!;
    if (k !== 'min_ttl' && k !== 'max_ttl') return w.err(i, `unexpected \`${k}\` (a unicast peer line is IP [min_ttl N] [max_ttl N])`);
    const v = int(w, i + 1, 0, 255, `\`${k}\``);
    if (v === undefined) return undefined;
    if (k === 'min_ttl') minTtl = v;
    else maxTtl = v;
  }
  if (minTtl !== null && maxTtl !== null && minTtl > maxTtl) return w.err(1, `min_ttl ${minTtl} is above max_ttl ${maxTtl}`);
  return { address: a.address, family: a.family, minTtl, maxTtl };
}

/** A tracker line: `NAME [weight N [reverse|noreverse]]`. */
function trackLine(min: number, max: number) {
  return (w: Words): VTrackLine | undefined => {
    const name = w.at(0);
    if (name === undefined || name === '') return w.err(null, 'a tracker line needs a name');
    const wc = weightClause(w, 1, min, max);
    if (!wc) return undefined;
    return { name, ...wc };
  };
}

/** A sync group `group { }` line: one or more instance names. */
function groupLine(w: Words): readonly string[] | undefined {
  if (w.length === 0) return w.err(null, 'a group line needs instance names');
  return w.words;
}

/** A `notification_email` line: addresses (keepalived takes any word: a local user is fine). */
function emailLine(w: Words): readonly string[] | undefined {
  return w.words;
}

/** Adds n to an address (n ≥ 0), staying in its family; null on overflow. */
function addToAddress(address: string, family: Family, n: bigint): string | null {
  if (family === 'ipv4') {
    const v = BigInt(parseIPv4(address)!) + n;
    return v > 0xffffffffn ? null : formatIPv4(Number(v));
  }
  const b = parseIPv6(address)!;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  v += n;
  if (v >= 1n << 128n) return null;
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return canonicalIp(Array.from({ length: 8 }, (_, i) => ((out[i * 2]! << 8) | out[i * 2 + 1]!).toString(16)).join(':'));
}

/** Numeric value of an address as a bigint. */
export function addressValue(address: string): bigint {
  const v4 = parseIPv4(address);
  if (v4 !== null) return BigInt(v4);
  const b = parseIPv6(address)!;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/**
 * An address range as keepalived writes it: `A-B` (last part of A replaced: `198.18.0.1-10`,
 * IPv6 last group in hex), `A-A2` (two full addresses) or `A/nn` (every address of the prefix).
 */
export function parseRange(w: Words, i: number): { first: string; last: string; family: Family; count: number } | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, 'an address range is needed');
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const p = ipPrefix(w, i);
    if (!p) return undefined;
    const bits = (p.family === 'ipv4' ? 32 : 128) - (p.prefixLen ?? 0);
    if (bits > 16) return w.err(i, `\`${s}\` covers 2^${bits} addresses; lvsd takes ranges of at most 65536 addresses`);
    const size = 1n << BigInt(bits);
    const base = addressValue(p.address) & ~(size - 1n);
    const first = addToAddress(p.family === 'ipv4' ? formatIPv4(0) : '::', p.family, base)!;
    const last = addToAddress(first, p.family, size - 1n)!;
    return { first, last, family: p.family, count: Number(size) };
  }
  const dash = s.lastIndexOf('-');
  if (dash < 0) {
    const a = ip(w, i);
    return a ? { first: a.address, last: a.address, family: a.family, count: 1 } : undefined;
  }
  const firstText = s.slice(0, dash);
  const endText = s.slice(dash + 1);
  const fam = ipFamily(firstText);
  if (!fam) return w.err(i, `\`${firstText}\` is not a valid IP address`);
  const first = canonicalIp(firstText)!;
  let last: string | null;
  if (ipFamily(endText) === fam) {
    last = canonicalIp(endText);
  } else if (fam === 'ipv4' && /^\d{1,3}$/.test(endText) && Number(endText) <= 255) {
    last = firstText.slice(0, firstText.lastIndexOf('.') + 1) + String(Number(endText));
    last = canonicalIp(last);
  } else if (fam === 'ipv6' && /^[0-9a-fA-F]{1,4}$/.test(endText)) {
    const b = parseIPv6(first)!;
    b[14] = parseInt(endText, 16) >> 8;
    b[15] = parseInt(endText, 16) & 255;
    last = canonicalIp(Array.from({ length: 8 }, (_, k) => ((b[k * 2]! << 8) | b[k * 2 + 1]!).toString(16)).join(':'));
  } else {
    return w.err(i, `\`${s}\` is not an address range (198.18.0.1-10, 198.18.0.1-198.18.1.10 or 198.18.0.0/28)`);
  }
  if (!last) return w.err(i, `\`${s}\` is not an address range`);
  const n = addressValue(last) - addressValue(first);
  if (n < 0n) return w.err(i, `range \`${s}\` ends before it starts`);
  if (n >= 65536n) return w.err(i, `range \`${s}\` has more than 65536 addresses`);
  return { first, last, family: fam, count: Number(n) + 1 };
}

/** A `virtual_server_group` line: `RANGE [PORT]` or `fwmark N [inet|inet6]`. */
function vsgLine(w: Words): VVsgLine | undefined {
  if (w.at(0) === 'fwmark') {
    if (!w.count(2, 3, 'fwmark N [inet|inet6]')) return undefined;
    const m = fwmarkValue(w, 1);
    if (m === undefined) return undefined;
    if (w.length === 3 && oneOf(w, 2, ['inet', 'inet6']) === undefined) return undefined;
    return { kind: 'fwmark', fwmark: m };
  }
  if (!w.count(1, 2, 'ADDRESS|RANGE [PORT] or fwmark N')) return undefined;
  const r = parseRange(w, 0);
  if (!r) return undefined;
  let p: number | null = null;
  if (w.length === 2) {
    const v = port(w, 1, true);
    if (v === undefined) return undefined;
    p = v;
  }
  return { kind: 'range', first: r.first, last: r.last, family: r.family, count: r.count, port: p };
}

/**
 * A `local_address_group` line: `ADDRESS|RANGE [IFNAME]`; keepalived-dpvs writes the
 * interface (`192.168.100.200 dpdk0`), the kernel FULLNAT patches' keepalived a range of the
 * last octet (`192.168.100.5-254`).
 */
function laddrLine(w: Words): VLaddrLine | undefined {
  if (!w.count(1, 2, 'ADDRESS|RANGE [IFNAME]')) return undefined;
  const r = parseRange(w, 0);
  if (!r) return undefined;
  let ifn: string | null = null;
  if (w.length === 2) {
    const v = ifname(w, 1);
    if (v === undefined) return undefined;
    ifn = v;
  }
  return { first: r.first, last: r.last, family: r.family, count: r.count, ifname: ifn };
}

/** An lvsd `fwmark_rules` line: `ADDRESS[/PREFIX] tcp|udp PORT|PORT-PORT|0`. */
function fwmarkRuleLine(w: Words): VFwmarkLine | undefined {
  if (!w.count(3, 3, 'ADDRESS[/PREFIX] tcp|udp PORT|PORT-PORT|0')) return undefined;
  const a = ipPrefix(w, 0);
  if (!a) return undefined;
  const protoWord = w.at(1)!;
  const proto = ['tcp', 'udp'].includes(protoWord.toLowerCase()) ? protoWord : w.err(1, `the protocol must be tcp or udp, not \`${protoWord}\``);
  if (proto === undefined) return undefined;
  const ps = w.at(2)!;
  let portMin: number;
  let portMax: number;
  const m = /^(\d+)-(\d+)$/.exec(ps);
  if (m) {
    portMin = Number(m[1]);
    portMax = Number(m[2]);
    if (portMin < 1 || portMax > 65535 || portMin > portMax) return w.err(2, `port range \`${ps}\` must be within 1-65535 and low-high`);
  } else {
    const v = port(w, 2, true);
    if (v === undefined) return undefined;
    // 0 = every port
    portMin = v === 0 ? 0 : v;
    portMax = v === 0 ? 65535 : v;
  }
  return {
    address: a.address, family: a.family, prefixLen: a.prefixLen ?? (a.family === 'ipv4' ? 32 : 128),
    protocol: proto.toLowerCase() as 'tcp' | 'udp', portMin, portMax,
  };
}

/** `status_code 200-299 301 ...`. */
function statusCodes(w: Words): ReadonlyArray<{ min: number; max: number }> | undefined {
  if (w.length === 0) return w.err(null, '`status_code` needs codes or ranges (e.g. 200-299 301)');
  const out: Array<{ min: number; max: number }> = [];
  for (let i = 0; i < w.length; i++) {
    const s = w.at(i)!;
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(s);
    if (!m) {
      w.err(i, `\`${s}\` is not an HTTP status code or range (100-599, e.g. 200-299)`);
      continue;
    }
    const min = Number(m[1]);
    const max = m[2] ? Number(m[2]) : min;
    if (min < 100 || max > 599 || min > max) {
      w.err(i, `\`${s}\` is not a valid status code or range (100-599, low-high)`);
      continue;
    }
    out.push({ min, max });
  }
  return w.failed ? undefined : out;
}

function digestParser(w: Words): string | undefined {
  const s = word(w, 'MD5 (32 hex digits, as genhash prints it)');
  if (s === undefined) return undefined;
  if (!/^[0-9a-fA-F]{32}$/.test(s)) return w.err(0, `digest must be 32 hex digits (an MD5 from genhash), not \`${s}\` (${s.length} characters)`);
  return s.toLowerCase();
}

function lvsTimeouts(w: Words): VLvsTimeouts | undefined {
  if (w.length === 0 || w.length % 2 !== 0) return w.err(null, '`lvs_timeouts` needs [tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]');
  const out = { tcpS: null as number | null, tcpFinS: null as number | null, udpS: null as number | null };
  for (let i = 0; i < w.length; i += 2) {
    const k = w.at(i)!;
    const v = int(w, i + 1, 1, 2147483, `\`${k}\` timeout`);
    if (v === undefined) return undefined;
    if (k === 'tcp') out.tcpS = v;
    else if (k === 'tcpfin') out.tcpFinS = v;
    else if (k === 'udp') out.udpS = v;
    else return w.err(i, `unknown timeout \`${k}\` (tcp, tcpfin or udp)`);
  }
  return out;
}

/**
 * `lvs_sync_daemon IFNAME [VRRP_INSTANCE | inst NAME] [id SYNC_ID] [maxlen N] [port N] [ttl N] [group ADDRESS]`,
 * as keepalived's global_parser.c `lvs_syncd_handler()` reads it: the interface first, then
 * options in any order; a bare word right after the interface is the VRRP instance, and a
 * number after that the old positional syncid (keepalived warns "Please use keyword id").
 * Bounds as keepalived's: id 0-255, maxlen 1-65507, port 1-65535, ttl 1-255, group a
 * multicast address.
 */
function lvsSyncDaemon(w: Words): VLvsSyncDaemon | undefined {
  if (w.length === 0) return w.err(null, '`lvs_sync_daemon` needs an interface: IFNAME [VRRP_INSTANCE] [id SYNC_ID] [maxlen N] [port N] [ttl N] [group ADDRESS]');
  const iface = ifname(w, 0);
  if (iface === undefined) return undefined;
  const out = {
    interface: iface, instance: null as string | null, instanceArg: -1, syncId: null as number | null,
    maxLen: null as number | null, port: null as number | null, ttl: null as number | null,
    group: null as { address: string; family: Family } | null,
  };
  const seen = new Set<string>();
  for (let i = 1; i < w.length; i++) {
    const k = w.at(i)!;
    const value = (): string | undefined => (i + 1 < w.length ? w.at(i + 1) : undefined);
    if (['inst', 'id', 'maxlen', 'port', 'ttl', 'group'].includes(k)) {
      if (value() === undefined) return w.err(i, `\`${k}\` needs a value`);
      if (seen.has(k) || (k === 'inst' && out.instance !== null)) return w.err(i, `\`${k}\` is given twice`);
      seen.add(k);
      i++;
      switch (k) {
        case 'inst':
          out.instance = w.at(i)!;
          out.instanceArg = i;
          break;
        case 'id': {
          const v = int(w, i, 0, 255, 'the sync id');
          if (v === undefined) return undefined;
          out.syncId = v;
          break;
        }
        case 'maxlen': {
          const v = int(w, i, 1, 65535 - 20 - 8, 'maxlen');
          if (v === undefined) return undefined;
          out.maxLen = v;
          break;
        }
        case 'port': {
          const v = int(w, i, 1, 65535, 'the port');
          if (v === undefined) return undefined;
          out.port = v;
          break;
        }
        case 'ttl': {
          const v = int(w, i, 1, 255, 'the TTL');
          if (v === undefined) return undefined;
          out.ttl = v;
          break;
        }
        case 'group': {
          const a = ip(w, i, undefined, 'multicast group');
          if (!a) return undefined;
          const multicast = a.family === 'ipv4' ? (parseIPv4(a.address)! >>> 28) === 14 : a.address.startsWith('ff');
          if (!multicast) return w.err(i, `\`${a.address}\` is not a multicast address`);
          out.group = a;
          break;
        }
      }
      continue;
    }
    // Backward compatibility (keepalived): `lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID]`.
    if (i === 1) {
      out.instance = k;
      out.instanceArg = 1;
      continue;
    }
    if (i === 2 && out.instanceArg === 1 && /^\d+$/.test(k)) {
      const v = int(w, i, 0, 255, 'the sync id');
      if (v === undefined) return undefined;
      if (out.syncId !== null) return w.err(i, 'the sync id is given twice');
      w.warn(i, 'please use keyword `id` before the sync id (as keepalived says)', 'WARN_CONFIG_DEPRECATED');
      out.syncId = v;
      continue;
    }
    return w.err(i, `unknown option \`${k}\` (inst, id, maxlen, port, ttl, group)`);
  }
  return out;
}

function fifoParser(w: Words): { path: string; user: ScriptUser | null } | undefined {
  if (!w.count(1, 3, 'FIFO_PATH [USER [GROUP]]')) return undefined;
  const path = w.at(0)!;
  if (!path.startsWith('/')) return w.err(0, `the FIFO path must be absolute, not \`${path}\``);
  let user: ScriptUser | null = null;
  if (w.length > 1) {
    const u = scriptUser(w, 1);
    if (!u) return undefined;
    user = u;
  }
  return { path, user };
}

function listenParser(w: Words): { address: string; port: number } | undefined {
  const s = word(w, 'IP:PORT (IPv6 as [ADDR]:PORT)');
  if (s === undefined) return undefined;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return w.err(0, `\`${s}\` is not IP:PORT (IPv6 as [ADDR]:PORT)`);
  const a = canonicalIp(m[1]!);
  if (!a) return w.err(0, `\`${m[1]}\` is not a valid IP address`);
  const p = Number(m[2]);
  if (p < 1 || p > 65535) return w.err(0, `port ${m[2]} must be from 1 to 65535`);
  return { address: a, port: p };
}

function absPath(w: Words): string | undefined {
  const s = word(w, 'PATH');
  if (s === undefined) return undefined;
  if (!s.startsWith('/')) return w.err(0, `must be an absolute path, not \`${s}\``);
  return s;
}

function weightLeaf(min: number, max: number) {
  return (w: Words): VWeight | undefined => {
    if (!w.count(1, 2, `N [reverse] (${min}..${max})`)) return undefined;
    const n = int(w, 0, min, max);
    if (n === undefined) return undefined;
    let reverse: boolean | null = null;
    if (w.length === 2) {
      const r = oneOf(w, 1, ['reverse', 'noreverse'] as const);
      if (r === undefined) return undefined;
      reverse = r === 'reverse';
    }
    return { weight: n, reverse };
  };
}

function initFile(w: Words): VInitFile | undefined {
  let value = 0;
  let overwrite = false;
  for (let i = 0; i < w.length; i++) {
    const s = w.at(i)!;
    if (s === 'overwrite' && i === w.length - 1) overwrite = true;
    else if (i === 0 && /^-?\d+$/.test(s)) value = Number(s);
    else return w.err(i, `unexpected \`${s}\` (syntax: init_file [VALUE] [overwrite])`);
  }
  return { value, overwrite };
}

function useVmac(w: Words): { name: string | null } | undefined {
  if (!w.count(0, 2, '[NAME] [MAC]')) return undefined;
  const first = w.at(0);
  if (first === undefined || /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){4,5}$/.test(first)) return { name: null };
  if (first.length > 15) return w.err(0, `VMAC interface name \`${first}\` is longer than 15 characters`);
  return { name: first };
}

/**
 * A command given as words: one (quoted) word is a command line split keepalived-style;
 * several unquoted words are the command and its arguments, joined as keepalived 1.x did
 * (keepalived 2.x would silently run only the first word).
 */
function commandWords(kw: string) {
  return (w: Words): ScriptCommand | undefined => {
    if (w.length === 0) return w.err(null, `\`${kw}\` needs a command`);
    if (w.length === 1) {
      const c = command(w.at(0)!);
      if (c.argv.length === 0) return w.err(0, `\`${kw}\` needs a command`);
      return c;
    }
    const quote = (s: string) => (/[\s'"\\]/.test(s) ? `'${s.replace(/'/g, `'\\''`)}'` : s);
    return { line: w.words.map(quote).join(' '), argv: [...w.words] };
  };
}

function preemptFlag(invert: boolean) {
  return (w: Words): boolean | undefined => {
    const v = flag(w);
    return v === undefined ? undefined : invert ? !v : v;
  };
}

/** keepalived vrrp_parser.c vrrp_unicast_chksum_handler: bare = CHKSUM_COMPATIBILITY_CONFIG, `never` = _NEVER. */
function oldChecksum(w: Words): 'old' | 'never' | undefined {
  if (!w.count(0, 1, '[never]')) return undefined;
  if (w.length === 0) return 'old';
  return oneOf(w, 0, ['never'] as const) === undefined ? undefined : 'never';
}

function httpProtocol(w: Words): '1.0' | '1.1' | undefined {
  if (!w.count(1, 1, '1.0|1.0C|1.1')) return undefined;
  const v = oneOf(w, 0, ['1.0', '1.0C', '1.0c', '1.1'] as const);
  if (v === undefined) return undefined;
  // The HTTP client (undici) speaks HTTP/1.1 only; lvsd sends `Connection: close` either way.
  if (v !== '1.1') w.warn(0, `\`http_protocol ${v}\` accepted, not supported yet: lvsd always sends HTTP/1.1 requests (with \`Connection: close\`)`);
  return v === '1.1' ? '1.1' : '1.0';
}

function persistenceTimeout(w: Words): number | undefined {
  // keepalived check_parser.c pto_handler: no value = IPVS_SVC_PERSISTENT_TIMEOUT (360 s).
  if (w.length === 0) return 360;
  if (!w.count(1, 1, '[SECONDS]')) return undefined;
  return int(w, 0, 1, 2147483);
}

function protocolParser(w: Words): 'tcp' | 'udp' | 'sctp' | undefined {
  if (!w.count(1, 1, 'TCP|UDP')) return undefined;
  const v = oneOf(w, 0, ['TCP', 'UDP', 'SCTP'] as const, true);
  return v === undefined ? undefined : (v.toLowerCase() as 'tcp' | 'udp' | 'sctp');
}

function smtpServer(w: Words): string | undefined {
  if (!w.count(1, 2, 'HOST [PORT]')) return undefined;
  if (w.length === 2 && port(w, 1) === undefined) return undefined;
  return w.words.join(' ');
}

function authType(w: Words): 'PASS' | 'AH' | undefined {
  if (!w.count(1, 1, 'PASS|AH')) return undefined;
  return oneOf(w, 0, ['PASS', 'AH'] as const);
}

function authPass(w: Words): string | undefined {
  const s = word(w, 'PASSWORD');
  if (s === undefined) return undefined;
  if (s.length === 0) return w.err(0, '`auth_pass` must not be empty');
  return s;
}

function stateParser(w: Words): 'MASTER' | 'BACKUP' | undefined {
  if (!w.count(1, 1, 'MASTER|BACKUP')) return undefined;
  return oneOf(w, 0, ['MASTER', 'BACKUP'] as const);
}

function mcastGroup(family: Family) {
  return (w: Words): string | undefined => {
    if (!w.count(1, 1, 'ADDRESS')) return undefined;
    const a = ip(w, 0, family, 'multicast address');
    if (!a) return undefined;
    const ok = family === 'ipv4' ? (parseIPv4(a.address)! >>> 28) === 14 : a.address.startsWith('ff');
    if (!ok) return w.err(0, `\`${a.address}\` is not a multicast address`);
    return a.address;
  };
}

const ipLeaf = (w: Words) => (w.count(1, 1, 'ADDRESS') ? ip(w, 0) : undefined);
const ifLeaf = (w: Words) => (w.count(1, 1, 'IFNAME') ? ifname(w, 0) : undefined);
const portLeaf = (w: Words) => (w.count(1, 1, 'PORT') ? port(w, 0) : undefined);
const boolOrBare = (w: Words) => flag(w);
const versionParser = (w: Words): 2 | 3 | undefined => {
  if (!w.count(1, 1, '2|3')) return undefined;
  const v = oneOf(w, 0, ['2', '3'] as const);
  return v === undefined ? undefined : (Number(v) as 2 | 3);
};

// ───────────────────────────── timing keywords (virtual_server → real_server → checker) ─────────────────────────────

const TIMING: Record<string, KwSpec> = {
  delay_loop: leaf(timer(0.001, 86400), { syntax: 'SECONDS', doc: 'Interval between checks while the state is stable.', def: '60 s' }),
  connect_timeout: leaf(timer(0.001, 86400), { syntax: 'SECONDS', doc: 'Time allowed to connect (and, for HTTP, to get the answer).', def: '5 s' }),
  retry: leaf(integer(0, 1_000_000), {
    syntax: 'N', doc: 'Extra attempts after a failed check before the real server is declared down.',
    def: '1 (MISC_CHECK: 0)',
  }),
  nb_get_retry: leaf(integer(0, 1_000_000), {
    syntax: 'N', doc: 'keepalived 1.x spelling of `retry`.', canonical: 'retry', deprecated: 'use `retry`',
    compat: 'keepalived 2.2 only knows it in HTTP_GET/SSL_GET; lvsd folds it onto `retry` wherever `retry` is valid.',
  }),
  delay_before_retry: leaf(timer(0, 86400), {
    syntax: 'SECONDS', doc: 'Pause between a failed attempt and its retry.', def: '3 s for HTTP_GET/SSL_GET, 1 s otherwise',
  }),
  warmup: leaf(timer(0, 86400), {
    syntax: 'SECONDS', doc: 'The first check starts at a random point in [0, warmup] to spread load; 0 disables.', def: 'delay_loop',
  }),
  rise: leaf(integer(1, 1000), { syntax: 'N', doc: 'Consecutive successful checks needed to bring a real server up.', def: '1', ext: true }),
  fall: leaf(integer(1, 1000), {
    syntax: 'N', doc: 'Consecutive failed checks (each after its retries) needed to bring a real server down.', def: '1', ext: true,
  }),
};

// ───────────────────────────── checkers ─────────────────────────────

const CHECKER_CONNECT: Record<string, KwSpec> = {
  connect_ip: leaf(ipLeaf, { syntax: 'ADDRESS', doc: 'Address the check connects to.', def: 'the real server address' }),
  connect_port: leaf(portLeaf, { syntax: 'PORT', doc: 'Port the check connects to.', def: 'the real server port' }),
  bindto: leaf(ipLeaf, { syntax: 'ADDRESS', doc: 'Source address of the check connection.', def: "the kernel's choice" }),
  bind_port: leaf(portLeaf, { syntax: 'PORT', doc: 'Source port of the check connection.', def: "the kernel's choice" }),
  bind_if: leaf(ifLeaf, { syntax: 'IFNAME', doc: 'Interface to bind the check to (needed for a link-local bindto).' }),
  fwmark: unsupported('Firewall mark set on check packets.'),
};

const CHECKER_COMMON: Record<string, KwSpec> = {
  alpha: flagLeaf({ doc: 'Start this checker in the failed state until its first success.', def: 'the real server setting' }),
  ...TIMING,
  log_all_failures: unsupported('Log every failed check, not only state changes (lvsd emits a check.result event for every check anyway).'),
};

const URL: BlockSpec = {
  name: 'url',
  keywords: {
    path: leaf(str('PATH'), { syntax: 'PATH', doc: 'Path requested (`GET PATH`). Required.' }),
    status_code: leaf(statusCodes, { syntax: 'CODE|LOW-HIGH ...', doc: 'Accepted status codes.', def: '200-299' }),
    digest: leaf(digestParser, { syntax: 'MD5', doc: 'MD5 of the body (as `genhash` prints it); a different body fails the check.' }),
    virtualhost: leaf(str('HOST'), { syntax: 'HOST', doc: 'Host header for this URL.', def: 'the checker/real server/virtual server virtualhost' }),
    regex: unsupported('Regular expression the body must match.'),
    regex_no_match: unsupported('Reverse the regex match.'),
    regex_options: unsupported('PCRE2 options.'),
    regex_stack: unsupported('PCRE2 JIT stack sizes.'),
    regex_min_offset: unsupported('Regex start offset.'),
    regex_max_offset: unsupported('Regex end offset.'),
  },
};

const HTTP_KEYWORDS: Record<string, KwSpec> = {
  ...CHECKER_CONNECT,
  ...CHECKER_COMMON,
  url: { t: 'repeat', block: URL, doc: 'A URL to fetch; several may be given, all must pass.' },
  virtualhost: leaf(str('HOST'), { syntax: 'HOST', doc: 'Host header (and SNI name with enable_sni).', def: 'the real server / virtual server virtualhost' }),
  http_protocol: leaf(httpProtocol, {
    syntax: '1.0|1.0C|1.1', doc: 'HTTP version of the request. lvsd always sends HTTP/1.1 with `Connection: close`; 1.0 and 1.0C are accepted with a warning.',
    def: 'HTTP/1.1 (keepalived: 1.0)',
  }),
  enable_sni: flagLeaf({ doc: 'Send the virtualhost as TLS SNI (SSL_GET).' }),
  fast_recovery: unsupported('Check every URL without delay after a recovery.'),
};

const HTTP_GET: BlockSpec = { name: 'HTTP_GET', keywords: HTTP_KEYWORDS };
const SSL_GET: BlockSpec = { name: 'SSL_GET', keywords: HTTP_KEYWORDS };
const TCP_CHECK: BlockSpec = { name: 'TCP_CHECK', keywords: { ...CHECKER_CONNECT, ...CHECKER_COMMON } };
const { connect_timeout: _noConnectTimeout, ...MISC_COMMON } = CHECKER_COMMON;
const MISC_CHECK: BlockSpec = {
  name: 'MISC_CHECK',
  keywords: {
    ...MISC_COMMON,
    misc_path: leaf(commandWords('misc_path'), { syntax: 'COMMAND [ARGS...]', doc: 'The check command: exit 0 = up, anything else = down. Required.' }),
    misc_timeout: leaf(integer(1, 86400), { syntax: 'SECONDS', doc: 'Time the command may run before it counts as failed.', def: 'delay_loop' }),
    misc_dynamic: flagLeaf({ doc: 'Exit status sets the weight: 0 up, 1 down, 2..255 up with weight = status - 2.' }),
    user: leaf(userParser, { syntax: 'USER [GROUP]', doc: 'User (and group) the command runs as.', def: 'script_user' }),
  },
};

const UNSUPPORTED_CHECKER = (name: string): KwSpec => unsupported(`The ${name} health checker.`);

// ───────────────────────────── LVS ─────────────────────────────

const RS_BLOCK: BlockSpec = {
  name: 'real_server',
  keywords: {
    weight: leaf(integer(0, 65535), { syntax: 'N', doc: 'Scheduling weight; 0 quiesces the server (no new connections).', def: '1' }),
    lvs_method: leaf(methodParser, { syntax: METHOD_SYNTAX, doc: 'Forwarding method for this real server (TUN: its encapsulation).', def: "the virtual server's" }),
    lb_kind: leaf(methodParser, { syntax: METHOD_SYNTAX, doc: 'keepalived 1.x spelling of `lvs_method`.', canonical: 'lvs_method' }),
    notify_up: scriptLeaf('Script run when the real server comes up.'),
    notify_down: scriptLeaf('Script run when the real server goes down.'),
    uthreshold: leaf(integer(0, 4294967295), { syntax: 'N', doc: 'Upper connection threshold: no new connections above it (0 = none).', def: '0' }),
    lthreshold: leaf(integer(0, 4294967295), { syntax: 'N', doc: 'Lower connection threshold: accept again below it (0 = none).', def: '0' }),
    virtualhost: leaf(str('HOST'), { syntax: 'HOST', doc: 'Default Host header for this server\'s HTTP checks.' }),
    alpha: flagLeaf({ doc: 'Start down until the first successful check.', def: "the virtual server's" }),
    inhibit_on_failure: flagLeaf({ doc: 'On failure set weight 0 (quiesce) instead of removing the server.', def: "the virtual server's" }),
    ...TIMING,
    HTTP_GET: { t: 'repeat', block: HTTP_GET, doc: 'HTTP health check.' },
    SSL_GET: { t: 'repeat', block: SSL_GET, doc: 'HTTPS health check.' },
    TCP_CHECK: { t: 'repeat', block: TCP_CHECK, doc: 'TCP connect health check.' },
    MISC_CHECK: { t: 'repeat', block: MISC_CHECK, doc: 'Script health check.' },
    SMTP_CHECK: UNSUPPORTED_CHECKER('SMTP_CHECK'),
    DNS_CHECK: UNSUPPORTED_CHECKER('DNS_CHECK'),
    BFD_CHECK: UNSUPPORTED_CHECKER('BFD_CHECK'),
    UDP_CHECK: UNSUPPORTED_CHECKER('UDP_CHECK'),
    PING_CHECK: UNSUPPORTED_CHECKER('PING_CHECK'),
    FILE_CHECK: UNSUPPORTED_CHECKER('FILE_CHECK'),
    smtp_alert: unsupported('Send mail on state changes (lvsd does not send mail).'),
    snmp_name: unsupported('Name shown in SNMP.'),
  },
};

const VS_BLOCK: BlockSpec = {
  name: 'virtual_server',
  keywords: {
    lvs_sched: leaf(schedParser, { syntax: SCHEDULERS.join('|'), doc: 'Scheduler.', def: 'wlc' }),
    lb_algo: leaf(schedParser, { syntax: SCHEDULERS.join('|'), doc: 'keepalived 1.x spelling of `lvs_sched`.', canonical: 'lvs_sched' }),
    lvs_method: leaf(methodParser, {
      syntax: METHOD_SYNTAX, doc: 'Forwarding method; TUN encapsulates in IP-in-IP (default), GUE (UDP to `port`) or GRE, with or without their checksum (`csum`, GUE `remcsum`); FNAT (FULLNAT) rewrites both addresses and needs `laddr_group_name`.', def: 'NAT',
      compat: 'FNAT as keepalived-dpvs and the LVS FULLNAT patches configure it; no SYN proxy, no TOA.',
    }),
    lb_kind: leaf(methodParser, { syntax: METHOD_SYNTAX, doc: 'keepalived 1.x spelling of `lvs_method`.', canonical: 'lvs_method' }),
    protocol: leaf(protocolParser, {
      syntax: 'TCP|UDP', doc: 'Transport protocol.', def: 'UDP, with a warning (keepalived 2.x does the same: the kernel default)',
      compat: 'SCTP is rejected (not supported).',
    }),
    persistence_timeout: leaf(persistenceTimeout, { syntax: '[SECONDS]', doc: 'Client persistence; without a value 360 s, as keepalived.', def: '0 (no persistence)' }),
    persistence_granularity: leaf(str('NETMASK'), {
      syntax: 'NETMASK|PREFIXLEN', doc: 'Persistence per client network: an IPv4 netmask (255.255.255.0) or an IPv6 prefix length.',
      def: 'per client address',
    }),
    quorum: leaf(integer(0, 4294967295), { syntax: 'N', doc: 'Sum of alive real server weights needed for the service to be up.', def: '1' }),
    hysteresis: leaf(integer(0, 4294967295), { syntax: 'N', doc: 'Weight tolerance around the quorum before it flips.', def: '0' }),
    quorum_up: scriptLeaf('Script run when the quorum is gained.'),
    quorum_down: scriptLeaf('Script run when the quorum is lost.'),
    sorry_server: leaf(hostPortParser(true), { syntax: 'IP [PORT]', doc: 'Server that takes all traffic while the quorum is lost.', def: 'none' }),
    sorry_server_inhibit: flagLeaf({
      doc: 'Keep the sorry server listed at weight 0 (`lvsadm -L`) while the quorum holds, instead of removing it.',
      compat: 'In lvsd the sorry server keeps its connections when the quorum returns either way; the setting changes the listing.',
    }),
    sorry_server_lvs_method: leaf(methodParser, { syntax: METHOD_SYNTAX, doc: 'Forwarding method of the sorry server.', def: "the virtual server's" }),
    alpha: flagLeaf({ doc: 'Real servers start down until their first successful check.' }),
    omega: flagLeaf({ doc: 'Run quorum_down and notify_down when the service is removed or lvsd stops.' }),
    ha_suspend: flagLeaf({ doc: 'Suspend checks while the VRRP instance owning the VIP is not MASTER.' }),
    ops: flagLeaf({ doc: 'One-packet scheduling (UDP): each datagram is scheduled on its own.' }),
    virtualhost: leaf(str('HOST'), { syntax: 'HOST', doc: 'Default Host header of the HTTP checks of this service.' }),
    laddr_group_name: leaf(str('NAME'), {
      syntax: 'NAME', doc: 'FNAT: the `local_address_group` whose addresses the real servers see as the source of the connections (keepalived-dpvs, the LVS FULLNAT patches).',
      def: 'none (required with FNAT)',
    }),
    syn_proxy: unsupported('FNAT SYN proxy (keepalived-dpvs): lvsd forwards the client\'s own SYN.'),
    inhibit_on_failure: flagLeaf({ doc: 'Failed real servers get weight 0 instead of being removed.' }),
    'sh-port': flagLeaf({ doc: 'sh scheduler: hash the source port too.' }),
    'sh-fallback': flagLeaf({ doc: 'sh scheduler: fall back to another server when the chosen one is unavailable.' }),
    'mh-port': flagLeaf({ doc: 'mh scheduler: hash the source port too.' }),
    'mh-fallback': flagLeaf({ doc: 'mh scheduler: fall back to another server when the chosen one is unavailable.' }),
    'flag-1': flagLeaf({ doc: 'Scheduler flag 1 (sh-fallback / mh-fallback).' }),
    'flag-2': flagLeaf({ doc: 'Scheduler flag 2 (sh-port / mh-port).' }),
    'flag-3': flagLeaf({ doc: 'Scheduler flag 3 (no scheduler uses it).' }),
    ip_family: leaf((w) => (w.count(1, 1, 'inet|inet6') ? oneOf(w, 0, ['inet', 'inet6'] as const) : undefined), {
      syntax: 'inet|inet6', doc: 'Address family of a fwmark service.', def: 'from the real servers / fwmark_rules',
    }),
    ...TIMING,
    real_server: { t: 'keyed', block: RS_BLOCK, parseHeader: hostPortParser(true), syntax: 'IP [PORT]', doc: 'A real server (its port defaults to the virtual server\'s).' },
    hashed: unsupported('Use the hashed (legacy) IPVS flag.'),
    persistence_engine: unsupported('IPVS persistence engine (sip).'),
    smtp_alert: unsupported('Send mail on quorum changes (lvsd does not send mail).'),
    snmp_name: unsupported('Name shown in SNMP.'),
  },
};

// ───────────────────────────── VRRP ─────────────────────────────

const GARP_INSTANCE: Record<string, KwSpec> = {
  garp_master_delay: leaf(timer(0, 1000), { syntax: 'SECONDS', doc: 'Delay of the second gratuitous ARP burst after becoming MASTER (0 = none).', def: 'vrrp_garp_master_delay' }),
  garp_master_repeat: leaf(integer(1, 1000), { syntax: 'N', doc: 'Gratuitous ARPs per burst.', def: 'vrrp_garp_master_repeat' }),
  garp_lower_prio_delay: leaf(timer(0, 1000), { syntax: 'SECONDS', doc: 'Delay of gratuitous ARPs after a lower-priority advert is heard as MASTER.', def: 'vrrp_garp_lower_prio_delay' }),
  garp_lower_prio_repeat: leaf(integer(0, 1000), { syntax: 'N', doc: 'Gratuitous ARPs sent then.', def: 'vrrp_garp_lower_prio_repeat' }),
  garp_master_refresh: leaf(timer(0, 86400), { syntax: 'SECONDS', doc: 'Periodic gratuitous ARP refresh while MASTER (0 = off).', def: 'vrrp_garp_master_refresh' }),
  garp_master_refresh_repeat: leaf(integer(1, 1000), { syntax: 'N', doc: 'Gratuitous ARPs per refresh.', def: 'vrrp_garp_master_refresh_repeat' }),
};

const NOTIFY: Record<string, KwSpec> = {
  notify_master: scriptLeaf('Script run on the transition to MASTER.'),
  notify_backup: scriptLeaf('Script run on the transition to BACKUP.'),
  notify_fault: scriptLeaf('Script run on the transition to FAULT.'),
  notify_stop: scriptLeaf('Script run when the instance stops.'),
  notify: scriptLeaf('Script run on every transition with keepalived\'s four extra arguments: INSTANCE|GROUP, name, state, priority.'),
};

const AUTH_BLOCK: BlockSpec = {
  name: 'authentication',
  keywords: {
    auth_type: leaf(authType, { syntax: 'PASS|AH', doc: 'PASS: simple password (VRRPv2 only).', compat: 'AH is accepted with a warning and not used.' }),
    auth_pass: leaf(authPass, { syntax: 'PASSWORD', doc: 'The password; only the first 8 characters are used, as keepalived.' }),
  },
};

const INSTANCE_BLOCK: BlockSpec = {
  name: 'vrrp_instance',
  keywords: {
    state: leaf(stateParser, { syntax: 'MASTER|BACKUP', doc: 'Initial state wanted; priority 255 starts MASTER anyway.', def: 'BACKUP' }),
    interface: leaf(ifLeaf, { syntax: 'IFNAME', doc: 'Interface the instance runs on. Required.' }),
    virtual_router_id: leaf(integer(1, 255), { syntax: '1..255', doc: 'VRID, the same on every router of the pair. Required.' }),
    priority: leaf(integer(1, 255), { syntax: '1..255', doc: 'Priority; the highest wins; 255 = address owner.', def: '100' }),
    advert_int: leaf(timer(0.01, 255), {
      syntax: 'SECONDS', doc: 'Advertisement interval: whole seconds (1-255) for VRRPv2, 0.01-40.95 s for VRRPv3.', def: '1 s',
    }),
    version: leaf(versionParser, { syntax: '2|3', doc: 'VRRP version.', def: 'vrrp_version (IPv6 instances always 3)' }),
    nopreempt: leaf(preemptFlag(true), {
      syntax: '[on|off]', canonical: 'preempt', inverse: true, doc: 'A higher-priority router coming up does not take over from the current MASTER.',
      compat: 'Needs `state BACKUP`, as in keepalived.',
    }),
    preempt: leaf(preemptFlag(false), { syntax: '[on|off]', doc: 'Preempt (the default; kept for keepalived compatibility).' }),
    preempt_delay: leaf(timer(0, 1000), { syntax: 'SECONDS', doc: 'Delay before preempting a lower-priority MASTER.', def: '0' }),
    authentication: { t: 'block', block: AUTH_BLOCK, doc: 'VRRPv2 simple password authentication.' },
    unicast_src_ip: leaf(ipLeaf, { syntax: 'ADDRESS', doc: 'Source address of unicast adverts.', def: 'the primary address of the interface' }),
    unicast_peer: { t: 'list', parseLine: unicastPeerLine, syntax: 'ADDRESS [min_ttl N] [max_ttl N]', doc: 'Send adverts to these peers by unicast instead of multicast.' },
    mcast_src_ip: leaf(ipLeaf, { syntax: 'ADDRESS', doc: 'Source address of multicast adverts.', def: 'the primary address of the interface' }),
    virtual_ipaddress: {
      t: 'list', parseLine: vipLine,
      syntax: 'ADDRESS[/PREFIX] [dev IFNAME] [label LABEL] [brd ADDRESS] [scope SCOPE] [no_track] [lvsd_owner core|kernel]',
      doc: 'The VIPs moved with the MASTER state (all of one address family).',
      compat: 'peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, use_vmac, preferred_lft, track_group are accepted with a warning. `lvsd_owner` is an lvsd extension.',
    },
    virtual_ipaddress_excluded: {
      t: 'list', parseLine: vipLine, syntax: 'same as virtual_ipaddress', doc: 'VIPs moved with the instance but not listed in adverts (may mix families).',
    },
    track_interface: { t: 'list', parseLine: trackLine(-253, 253), syntax: 'IFNAME [weight -253..253 [reverse]]', doc: 'Interfaces whose state affects the instance (weight 0 = FAULT when down).' },
    track_script: { t: 'list', parseLine: trackLine(-253, 253), syntax: 'NAME [weight -253..253 [reverse|noreverse]]', doc: 'vrrp_scripts whose result affects the instance.' },
    track_file: { t: 'list', parseLine: trackLine(-254, 254), syntax: 'NAME [weight -254..254 [reverse|noreverse]]', doc: 'track_files whose value affects the instance.' },
    ...NOTIFY,
    notify_master_rx_lower_pri: scriptLeaf('Script run when the MASTER hears a lower-priority advert.'),
    ...GARP_INSTANCE,
    use_vmac: leaf(useVmac, { syntax: '[NAME] [MAC]', doc: 'Use a VRRP virtual MAC interface (macvlan).', compat: 'Accepted (the name, default `vrrp.VRID`, is in the model) with a warning: not supported yet.' }),
    dont_track_primary: flagLeaf({ doc: 'Ignore faults of the instance interface.' }),
    skip_check_adv_addr: flagLeaf({ doc: 'Do not check the address list of adverts from the current MASTER.', def: 'vrrp_skip_check_adv_addr' }),
    strict_mode: flagLeaf({ doc: 'Strict RFC compliance (see vrrp_strict).', def: 'vrrp_strict' }),
    check_unicast_src: flagLeaf({ doc: 'Accept unicast adverts only from the listed peers.', def: 'vrrp_check_unicast_src' }),
    old_unicast_checksum: leaf(oldChecksum, {
      syntax: '[never]',
      doc: 'Unicast VRRPv3 over IPv4: sum the pseudo-header with the multicast group as destination, as keepalived up to 1.3.6 did. `never`: do not switch to that form when a peer sends it.',
      def: 'the advert\'s own destination, switching to the old form when a unicast advert arrives in it',
    }),
    v3_checksum_as_v2: leaf(boolOrBare, {
      syntax: '[on|off]', doc: 'VRRPv3 over IPv4: checksum without the pseudo-header, as VRRPv2 (for routers that read RFC 5798 so, e.g. Cisco; keepalived 2.2.8 and later).',
      def: 'global v3_checksum_as_v2',
    }),
    vrf: unsupported('VRF of a unicast instance without an interface.'),
    use_vmac_addr: unsupported('VMACs for VIPs on other interfaces.'),
    vmac_xmit_base: unsupported('Send adverts on the base interface of a VMAC.'),
    use_ipvlan: unsupported('Use an ipvlan interface.'),
    native_ipv6: unsupported('Force IPv6 (deprecated in keepalived: the VIPs decide).'),
    track_process: unsupported('Track processes (vrrp_track_process).'),
    track_bfd: unsupported('Track BFD sessions.'),
    mcast_dst_ip: unsupported('Multicast group other than 224.0.0.18 / ff02::12 per instance.'),
    track_src_ip: unsupported('FAULT when the source address disappears.'),
    unicast_fault_no_peer: unsupported('FAULT when unicast has no peers.'),
    unicast_ttl: unsupported('TTL of unicast adverts.'),
    garp_extra_if: unsupported('Periodic GARPs on other interfaces.'),
    vmac_garp_intvl: unsupported('Old name of garp_extra_if.', { deprecated: 'use `garp_extra_if`' }),
    down_timer_adverts: unsupported('Master down timer in adverts (RFC says 3).'),
    lower_prio_no_advert: flagLeaf({ doc: 'A MASTER does not answer a lower-priority advert with its own (RFC behaviour); it still sends gratuitous ARPs (garp_lower_prio_repeat).', def: 'vrrp_lower_prio_no_advert; always on in strict mode' }),
    higher_prio_send_advert: flagLeaf({ doc: 'A MASTER that hears a higher-priority advert sends one advert of its own before it becomes BACKUP.', def: 'vrrp_higher_prio_send_advert; always off in strict mode' }),
    promote_secondaries: unsupported('Set promote_secondaries on the interface.'),
    virtual_routes: unsupported('Routes moved with the MASTER state.'),
    virtual_rules: unsupported('Policy rules moved with the MASTER state.'),
    accept: unsupported('VRRPv3 accept mode.'),
    no_accept: unsupported('VRRPv3 no-accept mode.'),
    debug: unsupported('Debug level.'),
    notify_deleted: unsupported('Notify DELETED when the instance is removed by a reload.'),
    notify_priority_changes: unsupported('Notify priority changes on the FIFOs.'),
    smtp_alert: unsupported('Send mail on transitions (lvsd does not send mail).'),
    kernel_rx_buf_size: unsupported('Socket receive buffer size.'),
    linkbeat_use_polling: unsupported('Poll the link state.'),
    lvs_sync_daemon_interface: unsupported('IPVS sync daemon interface (deprecated in keepalived).', { deprecated: 'use global `lvs_sync_daemon`' }),
  },
};

const SYNC_GROUP_BLOCK: BlockSpec = {
  name: 'vrrp_sync_group',
  keywords: {
    group: { t: 'list', parseLine: groupLine, syntax: 'INSTANCE ...', doc: 'The member vrrp_instances. Required.' },
    track_interface: { t: 'list', parseLine: trackLine(-253, 253), syntax: 'IFNAME [weight N [reverse]]', doc: 'Interfaces tracked for every member.' },
    track_script: { t: 'list', parseLine: trackLine(-253, 253), syntax: 'NAME [weight N [reverse|noreverse]]', doc: 'vrrp_scripts tracked for every member.' },
    track_file: { t: 'list', parseLine: trackLine(-254, 254), syntax: 'NAME [weight N [reverse|noreverse]]', doc: 'track_files tracked for every member.' },
    ...NOTIFY,
    global_tracking: flagLeaf({ doc: 'Members keep their own tracker weights.', deprecated: 'use `sync_group_tracking_weight`' }),
    sync_group_tracking_weight: flagLeaf({ doc: 'Members keep their own tracker weights (otherwise they are forced to 0, as keepalived does).' }),
    notify_priority_changes: unsupported('Notify priority changes on the FIFOs.'),
    smtp_alert: unsupported('Send mail on transitions (lvsd does not send mail).'),
    track_process: unsupported('Track processes.'),
    track_bfd: unsupported('Track BFD sessions.'),
  },
};

const SCRIPT_BLOCK: BlockSpec = {
  name: 'vrrp_script',
  keywords: {
    script: leaf(commandWords('script'), { syntax: '"COMMAND [ARGS]"', doc: 'The command; exit 0 = success. Required.' }),
    interval: leaf(timer(0.001, 86400), { syntax: 'SECONDS', doc: 'Time between runs.', def: '1 s' }),
    timeout: leaf(timer(0.001, 86400), { syntax: 'SECONDS', doc: 'Run time after which the script counts as failed.', def: 'interval' }),
    weight: leaf(weightLeaf(-253, 253), { syntax: '-253..253 [reverse]', doc: 'Priority change; 0 = failure puts tracking instances in FAULT.', def: '0' }),
    rise: leaf(integer(1, 1000), { syntax: 'N', doc: 'Consecutive successes to count as up.', def: '1' }),
    fall: leaf(integer(1, 1000), { syntax: 'N', doc: 'Consecutive failures to count as down.', def: '1' }),
    user: leaf(userParser, { syntax: 'USER [GROUP]', doc: 'User (and group) the script runs as.', def: 'script_user' }),
    init_fail: flagLeaf({ doc: 'Start in the failed state.' }),
  },
};

const TRACK_FILE_BLOCK: BlockSpec = {
  name: 'track_file',
  keywords: {
    file: leaf(absPath, { syntax: 'PATH', doc: 'The file whose number is tracked. Required.' }),
    weight: leaf(weightLeaf(-2147483647, 2147483647), { syntax: 'N [reverse]', doc: 'Multiplier of the value read (0: non-zero = failure).', def: '1' }),
    init_file: leaf(initFile, { syntax: '[VALUE] [overwrite]', doc: 'Create the file with VALUE (default 0) if missing; overwrite replaces an existing one.' }),
  },
};

// ───────────────────────────── global_defs ─────────────────────────────

const G_UNSUPPORTED = [
  'process_names', 'process_name', 'vrrp_process_name', 'checker_process_name', 'lvs_process_name', 'bfd_process_name',
  'startup_script', 'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout', 'max_auto_priority',
  'min_auto_priority_delay', 'dynamic_interfaces', 'default_interface', 'disable_local_igmp', 'lvs_flush', 'lvs_flush_on_stop',
  'lvs_flush_onstop', 'vrrp_down_timer_adverts', 'vrrp_garp_extra_if', 'vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_ifindex',
  'nftables_counters', 'nftables_ipvs', 'nftables_ipvs_priority', 'nftables_ipvs_start_fwmark', 'vrrp_priority', 'vrrp_no_swap',
  'vrrp_rt_priority', 'vrrp_cpu_affinity', 'vrrp_rlimit_rttime', 'vrrp_rlimit_rtime', 'checker_priority', 'checker_no_swap',
  'checker_rt_priority', 'checker_cpu_affinity', 'checker_rlimit_rttime', 'checker_rlimit_rtime', 'bfd_priority', 'bfd_no_swap',
  'bfd_rt_priority', 'bfd_cpu_affinity', 'bfd_rlimit_rttime', 'bfd_rlimit_rtime', 'snmp_socket', 'enable_traps', 'enable_snmp_vrrp',
  'enable_snmp_keepalived', 'enable_snmp_rfc', 'enable_snmp_rfcv2', 'enable_snmp_rfcv3', 'enable_snmp_checker', 'enable_dbus',
  'dbus_service_name', 'vrrp_notify_priority_changes', 'fifo_write_vrrp_states_on_reload', 'vrrp_netlink_cmd_rcv_bufs',
  'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
  'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force', 'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force',
  'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'rs_init_notifies', 'no_checker_emails', 'vrrp_rx_bufs_policy',
  'vrrp_rx_bufs_multiplier', 'vrrp_startup_delay', 'log_unknown_vrids', 'vmac_prefix', 'vmac_addr_prefix', 'random_seed',
  'reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'include_check', 'config_save_dir',
  'tmp_config_directory', 'data_use_instance', 'umask', 'vrrp_vmac_garp_intvl', 'notify_fifo_script', 'vrrp_notify_fifo_script',
  'lvs_notify_fifo_script', 'smtp_helo_name', 'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker', 'no_email_faults',
  'checker_log_all_failures',
] as const;

const MAIL = ' (lvsd does not send mail)';

const GLOBAL_BLOCK: BlockSpec = {
  name: 'global_defs',
  keywords: {
    router_id: leaf(str('NAME'), { syntax: 'NAME', doc: 'Name of this director in logs and notifications.', def: 'the host name' }),
    lvs_id: leaf(str('NAME'), { syntax: 'NAME', doc: 'keepalived 1.x spelling of `router_id`.', canonical: 'router_id', deprecated: 'use `router_id`' }),
    script_user: leaf(userParser, {
      syntax: 'USER [GROUP]', doc: 'User (and group) scripts run as unless they say otherwise.',
      def: 'keepalived_script if that user exists, else root (with enable_script_security: keepalived_script, which must exist)',
    }),
    enable_script_security: flagLeaf({
      doc: 'Refuse (disable) a script that runs as root when a non-root user could change it or a directory on its path; without it, such scripts run and `lvsd --test` exits 6, as keepalived.',
    }),
    vrrp_garp_master_delay: leaf(timer(0, 1000), { syntax: 'SECONDS', doc: 'Delay of the second gratuitous ARP burst after becoming MASTER (0 = none).', def: '5 s' }),
    vrrp_garp_master_repeat: leaf(integer(1, 1000), { syntax: 'N', doc: 'Gratuitous ARPs per burst.', def: '5' }),
    vrrp_garp_master_refresh: leaf(timer(0, 86400), { syntax: 'SECONDS', doc: 'Periodic gratuitous ARP refresh while MASTER (0 = off).', def: '0' }),
    vrrp_garp_master_refresh_repeat: leaf(integer(1, 1000), { syntax: 'N', doc: 'Gratuitous ARPs per refresh.', def: '1' }),
    vrrp_garp_lower_prio_delay: leaf(timer(0, 1000), { syntax: 'SECONDS', doc: 'Delay of gratuitous ARPs after a lower-priority advert is heard as MASTER.', def: 'vrrp_garp_master_delay' }),
    vrrp_garp_lower_prio_repeat: leaf(integer(0, 1000), { syntax: 'N', doc: 'Gratuitous ARPs sent then.', def: 'vrrp_garp_master_repeat' }),
    vrrp_garp_interval: leaf(timer(0, 10), { syntax: 'SECONDS', doc: 'Gap between gratuitous ARPs on one interface (microsecond resolution).', def: '0' }),
    vrrp_gna_interval: leaf(timer(0, 10), { syntax: 'SECONDS', doc: 'Gap between unsolicited neighbour adverts on one interface.', def: '0' }),
    vrrp_min_garp: flagLeaf({ doc: 'Shorthand for vrrp_garp_master_repeat 1 and vrrp_garp_master_delay 0.' }),
    vrrp_skip_check_adv_addr: flagLeaf({ doc: 'Do not check the address list of adverts from the current MASTER.' }),
    vrrp_strict: flagLeaf({ doc: 'Strict RFC compliance: no authentication, no unicast, at least one VIP, ...' }),
    vrrp_version: leaf(versionParser, { syntax: '2|3', doc: 'Default VRRP version.', def: '2' }),
    vrrp_lower_prio_no_advert: flagLeaf({ doc: 'Default of lower_prio_no_advert.', def: 'off (on in strict mode)' }),
    vrrp_higher_prio_send_advert: flagLeaf({ doc: 'Default of higher_prio_send_advert.', def: 'off' }),
    v3_checksum_as_v2: flagLeaf({ doc: 'Default of the instances\' v3_checksum_as_v2 (keepalived 2.2.8 and later).', def: 'off' }),
    vrrp_check_unicast_src: flagLeaf({ doc: 'Accept unicast adverts only from listed peers (default of check_unicast_src).' }),
    vrrp_mcast_group4: leaf(mcastGroup('ipv4'), { syntax: 'ADDRESS', doc: 'IPv4 multicast group of adverts.', def: '224.0.0.18' }),
    vrrp_mcast_group6: leaf(mcastGroup('ipv6'), { syntax: 'ADDRESS', doc: 'IPv6 multicast group of adverts.', def: 'ff02::12' }),
    notify_fifo: leaf(fifoParser, { syntax: 'PATH [USER [GROUP]]', doc: 'FIFO receiving every notify line in keepalived\'s format.' }),
    vrrp_notify_fifo: leaf(fifoParser, { syntax: 'PATH [USER [GROUP]]', doc: 'FIFO receiving VRRP notify lines.' }),
    lvs_notify_fifo: leaf(fifoParser, { syntax: 'PATH [USER [GROUP]]', doc: 'FIFO receiving the checker lines: `RS [IP]:PROTO:PORT SERVICE UP|DOWN`, `VS SERVICE UP|DOWN` (also written to notify_fifo).' }),
    notification_email: { t: 'list', parseLine: emailLine, syntax: 'ADDRESS ...', doc: 'Mail recipients.', compat: 'Accepted (kept in the model) with a warning' + MAIL + '.' },
    notification_email_from: leaf(str('ADDRESS'), { syntax: 'ADDRESS', doc: 'Mail sender.', compat: 'Accepted with a warning' + MAIL + '.' }),
    smtp_server: leaf(smtpServer, { syntax: 'HOST [PORT]', doc: 'Mail relay.', compat: 'Accepted with a warning' + MAIL + '.' }),
    smtp_connect_timeout: leaf(integer(1, 86400), { syntax: 'SECONDS', doc: 'Mail relay timeout.', compat: 'Accepted with a warning' + MAIL + '.' }),
    lvs_timeouts: leaf(lvsTimeouts, { syntax: '[tcp S] [tcpfin S] [udp S]', doc: 'Connection timeouts of the forwarding core.', def: 'tcp 900 tcpfin 120 udp 300' }),
    lvs_sync_daemon: leaf(lvsSyncDaemon, {
      syntax: 'IFNAME [VRRP_INSTANCE] [id SYNC_ID] [maxlen N] [port N] [ttl N] [group ADDRESS]',
      doc: 'Connection synchronisation with the peer director, as IPVS\'s sync daemon (docs/sync.md): the MASTER of VRRP_INSTANCE sends its connections, the other director receives them, and the roles swap with the instance. Without an instance both roles run at once.',
      def: 'off; id: the instance\'s virtual_router_id (0 without an instance), group 224.0.0.81, port 8848, ttl 1, maxlen: from the MTU',
    }),
    control_socket: leaf(absPath, { syntax: 'PATH', doc: 'Control socket path (`--control` wins).', def: '/run/lvsd/lvsd.sock', ext: true }),
    metrics_listen: leaf(listenParser, { syntax: 'IP:PORT', doc: 'Prometheus metrics endpoint.', def: 'off', ext: true }),
    forwarding_workers: leaf(integer(0, 256), { syntax: 'N', doc: 'Forwarding worker threads (0 = one per CPU).', def: '0', ext: true }),
    conn_table_size: leaf(integer(1024, 1 << 28), { syntax: 'N', doc: 'Connection table capacity (entries) per worker.', def: '262144', ext: true }),
    lvs_interface: leaf(ifLeaf, {
      syntax: 'IFNAME', doc: 'Interface on which virtual servers whose address no vrrp_instance holds are served (claimed at start, without VRRP).',
      def: 'none', ext: true,
    }),
    ...Object.fromEntries(G_UNSUPPORTED.map((k) => [k, unsupported(`keepalived global setting \`${k}\`.`)])),
  },
};

// ───────────────────────────── top level ─────────────────────────────

/** The root of a keepalived.conf. */
export const ROOT: BlockSpec = {
  name: 'top level',
  keywords: {
    global_defs: { t: 'block', block: GLOBAL_BLOCK, doc: 'Global settings.' },
    vrrp_script: { t: 'named', block: SCRIPT_BLOCK, parseName: nameParser, syntax: 'NAME', doc: 'A script tracked by VRRP instances.' },
    track_file: { t: 'named', block: TRACK_FILE_BLOCK, parseName: nameParser, syntax: 'NAME', doc: 'A file whose number is tracked by VRRP instances.' },
    vrrp_track_file: {
      t: 'named', block: TRACK_FILE_BLOCK, parseName: nameParser, syntax: 'NAME', canonical: 'track_file',
      doc: 'Older spelling of `track_file`.', deprecated: 'use `track_file`',
    },
    vrrp_sync_group: { t: 'named', block: SYNC_GROUP_BLOCK, parseName: nameParser, syntax: 'NAME', doc: 'VRRP instances that change state together.' },
    vrrp_instance: { t: 'named', block: INSTANCE_BLOCK, parseName: nameParser, syntax: 'NAME', doc: 'A VRRP virtual router.' },
    virtual_server_group: {
      t: 'namedList', parseName: nameParser, parseLine: vsgLine, syntax: 'NAME', lineSyntax: 'ADDRESS|RANGE [PORT] | fwmark N',
      doc: 'Addresses (198.18.0.1, 198.18.0.1-10, 198.18.0.0/28), each with an optional port, and firewall marks, served by one `virtual_server group NAME`.',
    },
    local_address_group: {
      t: 'namedList', parseName: nameParser, parseLine: laddrLine, syntax: 'NAME', lineSyntax: 'ADDRESS|RANGE [IFNAME]',
      doc: 'FNAT local addresses (198.18.1.200, 198.18.1.200-210, 198.18.1.192/28), each with an optional interface: the sources of the connections the real servers see; the core owns them like VIPs. Used by `laddr_group_name`.',
    },
    fwmark_rules: {
      t: 'namedList', parseName: (w) => (w.count(1, 1, 'N') ? fwmarkValue(w, 0) : undefined), parseLine: fwmarkRuleLine,
      syntax: 'N', lineSyntax: 'ADDRESS[/PREFIX] tcp|udp PORT|LOW-HIGH|0', ext: true,
      doc: "lvsd's firewall-mark classification: packets matching a line get mark N (0 = any port). The core sees packets before netfilter, so kernel marks are invisible to it.",
    },
    virtual_server: { t: 'keyed', block: VS_BLOCK, parseHeader: vsHeaderParser, syntax: 'IP [PORT] | fwmark N | group NAME', doc: 'A virtual service.' },
    linkbeat_interfaces: unsupported('Interfaces polled for link state.'),
    track_group: unsupported('Track groups of static addresses/routes.'),
    static_ipaddress: unsupported('Addresses configured at start and never moved.'),
    static_routes: unsupported('Routes configured at start.'),
    static_rules: unsupported('Policy rules configured at start.'),
    garp_group: unsupported('Gratuitous ARP rate limits per interface group.'),
    vrrp_track_process: unsupported('Processes tracked by VRRP instances.'),
    interface_up_down_delays: unsupported('Debounce of interface state changes.'),
    bfd_instance: unsupported('BFD sessions.'),
    SSL: unsupported('Client certificate for SSL_GET.'),
    net_namespace: unsupported('Run in a network namespace.'),
    net_namespace_ipvs: unsupported('IPVS in another network namespace.'),
    namespace_with_ipsets: unsupported('ipsets in a namespace.'),
    instance: unsupported('Instance name for pid files.'),
    use_pid_dir: unsupported('Pid files under /run/keepalived.'),
    linkbeat_use_polling: unsupported('Poll link state.'),
    child_wait_time: unsupported('Time for child processes to exit.'),
  },
};

/** Every block of the table, for "did you mean" across blocks and for the docs. */
export function allBlocks(): BlockSpec[] {
  const seen = new Set<BlockSpec>();
  const walk = (b: BlockSpec) => {
    if (seen.has(b)) return;
    seen.add(b);
    for (const k of Object.values(b.keywords)) {
      if (k.t === 'block' || k.t === 'named' || k.t === 'keyed' || k.t === 'repeat') walk(k.block);
    }
  };
  walk(ROOT);
  return [...seen];
}

/** The spec of `kw` in a block, or undefined (own keys only: `constructor` is not a keyword). */
export function specOf(block: BlockSpec | null | undefined, kw: string): KwSpec | undefined {
  return block && Object.prototype.hasOwnProperty.call(block.keywords, kw) ? block.keywords[kw] : undefined;
}

/** The keyword's canonical name (aliases fold). */
export function canonicalOf(kw: string, spec: KwSpec): string {
  return ('canonical' in spec && spec.canonical) ? spec.canonical : kw;
}
