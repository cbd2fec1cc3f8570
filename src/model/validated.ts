/**
 * The validated config tree: what the config layer (src/config) hands to `compile()`.
 *
 * It mirrors the keepalived block structure one-to-one (keyword names as written in
 * keepalived.conf, legacy aliases already folded onto their canonical keyword), with every
 * leaf already parsed into a typed value by its keyword's parser. Nothing here is resolved
 * yet: defaults, inheritance and cross-references are `compile()`'s job.
 *
 * Every node carries its `path` in the raw tree (e.g. `vrrp_instance.VI_1.priority`); the
 * source map gives the file:line:col of the keyword and of each argument for that path.
 */
import type { Family } from '../lib/ip.js';
import type { SourcePos } from '../lib/errors.js';
import type { ScriptCommand, ScriptUser, TunnelOptions } from './types.js';

/** Where one raw-tree node came from: its keyword token and each argument (word) token. */
export interface NodeSource {
  readonly kw: SourcePos;
  readonly args: readonly SourcePos[];
}

/** Positions of the raw-tree nodes, by path. */
export interface SourceMapLike {
  get(path: string): NodeSource | undefined;
}

/** A parsed keyword line. */
export interface VLeaf<T = unknown> {
  readonly kind: 'leaf';
  readonly path: string;
  readonly value: T;
}

/** A `{ }` block of keywords: a static block (`authentication`), or one member of a collection. */
export interface VBlock {
  readonly kind: 'block';
  readonly path: string;
  /** The collection key as written (`VI_1`, `198.18.0.10 80`); null for static blocks. */
  readonly key: string | null;
  /** The parsed header (`virtual_server 198.18.0.10 80` → a {@link VsHeader}); null when none. */
  readonly header: unknown;
  readonly fields: Readonly<Record<string, VField>>;
}

/** The lines of a value block (`virtual_ipaddress { ... }`), each parsed. */
export interface VList<T = unknown> {
  readonly kind: 'list';
  readonly path: string;
  readonly entries: readonly VLeaf<T>[];
  /** Lines that were given but did not parse (already reported). */
  readonly invalid: number;
}

/** Several blocks under one keyword: a named collection, a keyed collection or repeated checkers. */
export interface VBlocks {
  readonly kind: 'blocks';
  readonly path: string;
  readonly items: readonly VBlock[];
  /** Blocks that were given but whose name or header did not parse (already reported). */
  readonly invalid: number;
}

/** A keyword that was given but whose value did not parse (already reported): present, no value. */
export interface VInvalid {
  readonly kind: 'invalid';
  readonly path: string;
}

export type VField = VLeaf | VBlock | VList | VBlocks | VInvalid;

// ───────────────────────── parsed values of keyword lines ─────────────────────────

/** A script keyword: `notify_master "/path/x.sh arg" [user [group]]`. */
export interface VScript {
  readonly command: ScriptCommand;
  readonly user: ScriptUser | null;
}

/** `weight N [reverse|noreverse]` as written (null = not given). */
export interface VWeight {
  readonly weight: number | null;
  readonly reverse: boolean | null;
}

/** A `track_script`/`track_file`/`track_interface` line: `NAME [weight N [reverse|noreverse]]`. */
export interface VTrackLine extends VWeight {
  readonly name: string;
}

/** A `virtual_ipaddress` line. */
export interface VVipLine {
  readonly address: string;
  readonly family: Family;
  readonly prefixLen: number;
  readonly dev: string | null;
  readonly label: string | null;
  readonly brd: string | null;
  readonly scope: string | null;
  readonly noTrack: boolean;
  /** lvsd extension `lvsd_owner core|kernel`. */
  readonly ownerOverride: 'core' | 'kernel' | null;
}

/** A `unicast_peer` line. */
export interface VUnicastPeer {
  readonly address: string;
  readonly family: Family;
  readonly minTtl: number | null;
  readonly maxTtl: number | null;
}

/** Header of a `virtual_server`. */
export type VsHeader =
  | { readonly kind: 'addr'; readonly address: string; readonly family: Family; readonly port: number | null }
  | { readonly kind: 'fwmark'; readonly fwmark: number }
  | { readonly kind: 'group'; readonly group: string };

/** Header of a `real_server` or the value of `sorry_server`: `IP [PORT]`. */
export interface VHostPort {
  readonly address: string;
  readonly family: Family;
  readonly port: number | null;
}

/** A `virtual_server_group` line. */
export type VVsgLine =
  | { readonly kind: 'range'; readonly first: string; readonly last: string; readonly family: Family; readonly count: number; readonly port: number | null }
  | { readonly kind: 'fwmark'; readonly fwmark: number };

/** A `local_address_group` line (keepalived-dpvs / the LVS FULLNAT patches): `ADDRESS|RANGE [IFNAME]`. */
export interface VLaddrLine {
  readonly first: string;
  readonly last: string;
  readonly family: Family;
  readonly count: number;
  readonly ifname: string | null;
}

/** A `fwmark_rules` line: `ADDRESS[/PREFIX] PROTO PORT|PORT-PORT|0`. */
export interface VFwmarkLine {
  readonly address: string;
  readonly family: Family;
  readonly prefixLen: number;
  readonly protocol: 'tcp' | 'udp';
  readonly portMin: number;
  readonly portMax: number;
}

/** `lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]|FNAT`. */
export interface VMethod {
  readonly method: 'NAT' | 'DR' | 'TUN' | 'FNAT';
  /** TUN's encapsulation (keepalived check_parser.c svr_forwarding_handler); absent for the others. */
  readonly tunnel?: TunnelOptions;
}

/** `lvs_timeouts [tcp S] [tcpfin S] [udp S]`: only the values given. */
export interface VLvsTimeouts {
  readonly tcpS: number | null;
  readonly tcpFinS: number | null;
  readonly udpS: number | null;
}

/** `lvs_sync_daemon IFNAME [VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDRESS]`: only the values given. */
export interface VLvsSyncDaemon {
  readonly interface: string;
  readonly instance: string | null;
  /** Which word named the instance (-1: none), for error positions. */
  readonly instanceArg: number;
  readonly syncId: number | null;
  readonly maxLen: number | null;
  readonly port: number | null;
  readonly ttl: number | null;
  readonly group: { readonly address: string; readonly family: Family } | null;
}

/** `init_file [VALUE] [overwrite]`. */
export interface VInitFile {
  readonly value: number;
  readonly overwrite: boolean;
}
