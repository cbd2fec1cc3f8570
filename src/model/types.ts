/**
 * The typed, keyed, immutable model that `compile()` builds from a validated config tree.
 *
 * Every subsystem (VRRP, checks, forwarding, control) reads only this model, never the raw
 * config. All values are resolved: defaults applied, keepalived inheritance done
 * (virtual_server → real_server → checker), legacy aliases folded, units converted to
 * milliseconds (`...Ms`) or seconds where IPVS itself counts seconds (`...S`).
 *
 * Collections are records keyed by a stable key (insertion order = config order), so the
 * model serialises to JSON as is (`lvsd --dump-config`) and `diff()` can match objects by key.
 * Nothing here carries a source position: moving a block in the file is not a change.
 */
import type { Family } from '../lib/ip.js';

export type { Family };

/** Forwarding method (IPVS's `lvs_method` / `lb_kind`). */
export type ForwardMethod = 'NAT' | 'DR' | 'TUN' | 'FNAT';

/**
 * TUN's encapsulation (keepalived `lvs_method TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`,
 * IPVS dest tun_type / tun_port / tun_flags): IP-in-IP (RFC 2003 / RFC 2473), GUE
 * (draft-ietf-intarea-gue: UDP to `port`), or GRE (RFC 2784). `csum`: the GUE UDP checksum or
 * the GRE checksum is sent; `remcsum`: GUE remote checksum offload; `nocsum` (default): none.
 */
export interface TunnelOptions {
  readonly type: 'ipip' | 'gue' | 'gre';
  /** GUE destination port (0 for ipip and gre). */
  readonly port: number;
  readonly csum: 'nocsum' | 'csum' | 'remcsum';
}

/** Transport protocol of a virtual service. */
export type L4Proto = 'tcp' | 'udp';

/** Scheduler names, as ipvsadm spells them. */
export type SchedulerName =
  | 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'sh' | 'dh'
  | 'lblc' | 'lblcr' | 'mh' | 'fo' | 'ovf' | 'twos';

/** Who answers for a virtual IP (ARCHITECTURE D4). */
export type VipOwner = 'core' | 'kernel';

/** A notify/quorum/check script: the command line as written, split keepalived-style. */
export interface ScriptCommand {
  /** The text as written in the config (for logs). */
  readonly line: string;
  /** argv[0] is the program; quoted words stay whole. */
  readonly argv: readonly string[];
  /** The script's own `USER [GROUP]` (notify scripts, MISC_CHECK `user`); null/absent = `script_user`. */
  readonly user?: ScriptUser | null;
}

/** The user (and group) scripts run as: `script_user` or a per-script `user`. */
export interface ScriptUser {
  readonly user: string;
  readonly group: string | null;
}

// ───────────────────────────── global ─────────────────────────────

/** Gratuitous ARP / unsolicited NA timing (global defaults; instances may override). */
export interface GarpSettings {
  /** Delay before the second burst after becoming MASTER (`garp_master_delay`, default 5 s; 0 = no second burst). */
  readonly masterDelayMs: number;
  /** Messages in each burst (`garp_master_repeat`, default 5). */
  readonly masterRepeat: number;
  /** Periodic refresh while MASTER (`garp_master_refresh`, default 0 = off). */
  readonly masterRefreshMs: number;
  /** Messages per refresh (`garp_master_refresh_repeat`, default 1). */
  readonly masterRefreshRepeat: number;
  /** Delay before GARPs after a lower-priority advert is heard as MASTER (`garp_lower_prio_delay`). */
  readonly lowerPrioDelayMs: number;
  /** Messages sent then (`garp_lower_prio_repeat`). */
  readonly lowerPrioRepeat: number;
  /** Gap between successive GARPs on one interface (`vrrp_garp_interval`, default 0). */
  readonly intervalMs: number;
  /** Gap between successive unsolicited NAs (`vrrp_gna_interval`, default 0). */
  readonly gnaIntervalMs: number;
}

/** IPVS connection timeouts in seconds (`lvs_timeouts tcp N tcpfin N udp N`). */
export interface LvsTimeouts {
  /** ESTABLISHED (IPVS default 900 s). */
  readonly tcpS: number;
  /** FIN_WAIT and friends (IPVS default 120 s). */
  readonly tcpFinS: number;
  /** UDP (IPVS default 300 s). */
  readonly udpS: number;
}

/**
 * Connection synchronisation between the two directors (keepalived's global
 * `lvs_sync_daemon`, IPVS's sync daemon; docs/sync.md).
 */
export interface LvsSyncDaemon {
  /** Interface the sync messages are sent and received on. */
  readonly interface: string;
  /** The vrrp_instance whose MASTER sends (the others receive); null = both roles at once. */
  readonly instance: string | null;
  /** Sync id carried in every message; a receiver with a non-zero id takes only its own (default: the instance's VRID, 0 without one). */
  readonly syncId: number;
  /** Largest message (bytes of UDP payload); null = from the MTU as the kernel computes it. */
  readonly maxLen: number | null;
  /** Multicast group (default 224.0.0.81, IP_VS_SYNC_GROUP) and its family. */
  readonly group: string;
  readonly family: Family;
  /** UDP port (default 8848, IP_VS_SYNC_PORT). */
  readonly port: number;
  /** Multicast TTL (default 1). */
  readonly ttl: number;
}

/** `global_defs` plus lvsd's own settings. */
export interface GlobalDefs {
  readonly routerId: string;
  readonly scriptUser: ScriptUser | null;
  readonly enableScriptSecurity: boolean;
  readonly garp: GarpSettings;
  readonly vrrpSkipCheckAdvAddr: boolean;
  readonly vrrpStrict: boolean;
  readonly vrrpVersion: 2 | 3;
  readonly vrrpCheckUnicastSrc: boolean;
  readonly vrrpMcastGroup4: string;
  readonly vrrpMcastGroup6: string;
  /** Global notify FIFO (keepalived's `notify_fifo`), lines in keepalived's format. */
  readonly notifyFifo: string | null;
  readonly vrrpNotifyFifo: string | null;
  readonly lvsNotifyFifo: string | null;
  /** Accepted for compatibility; lvsd does not send mail. */
  readonly notificationEmail: readonly string[];
  readonly notificationEmailFrom: string | null;
  readonly smtpServer: string | null;
  /** IPVS-wide connection timeouts (keepalived's global `lvs_timeouts`). */
  readonly lvsTimeouts: LvsTimeouts;
  /** Connection sync with the peer director (`lvs_sync_daemon`), null = off. */
  readonly lvsSyncDaemon: LvsSyncDaemon | null;
  /** lvsd extension: control socket path (the CLI flag wins). */
  readonly controlSocket: string | null;
  /** lvsd extension: Prometheus metrics listen address `ip:port`, null = off. */
  readonly metricsListen: { readonly address: string; readonly port: number } | null;
  /** lvsd extension: forwarding worker threads (0 = one per core). */
  readonly forwardingWorkers: number;
  /** lvsd extension: connection table capacity (entries) per worker. */
  readonly connTableSize: number;
  /** lvsd extension: interface on which VIPs not owned by any vrrp_instance are served. */
  readonly lvsInterface: string | null;
}

// ───────────────────────────── VRRP ─────────────────────────────

/** One `vrrp_script`. */
export interface VrrpScript {
  readonly name: string;
  readonly script: ScriptCommand;
  /** `interval`, default 1 s. */
  readonly intervalMs: number;
  /** `timeout`, default = interval. */
  readonly timeoutMs: number;
  /** `weight` (-253..253), 0 = failure puts tracking instances in FAULT. */
  readonly weight: number;
  /** `weight N reverse`: weight applies when the script succeeds, negated. */
  readonly weightReverse: boolean;
  /** `rise`, default 1. */
  readonly rise: number;
  /** `fall`, default 1. */
  readonly fall: number;
  readonly user: ScriptUser | null;
  /** `init_fail`: start in the failed state. */
  readonly initFail: boolean;
}

/** One `vrrp_track_file`. */
export interface VrrpTrackFile {
  readonly name: string;
  readonly file: string;
  readonly weight: number;
  readonly weightReverse: boolean;
  /** `init_file [VALUE] [overwrite]`: create the file with VALUE when missing (null = don't). */
  readonly initValue: number | null;
  readonly initOverwrite: boolean;
}

/** One address of `virtual_ipaddress` / `virtual_ipaddress_excluded`. */
export interface Vip {
  /** Canonical address text; also the key within its instance. */
  readonly address: string;
  readonly family: Family;
  readonly prefixLen: number;
  /** `dev`, default the instance's interface. */
  readonly dev: string;
  readonly label: string | null;
  readonly brd: string | null;
  readonly scope: string | null;
  /** `no_track`: this VIP's interface going down does not fault the instance. */
  readonly noTrack: boolean;
  /** Resolved owner (D4): `core` when the forwarding core serves it, else `kernel`. */
  readonly owner: VipOwner;
  /** Why that owner: 'virtual_server' | 'nat_gateway' | 'fnat_local' | 'local_service' | 'override'. */
  readonly ownerReason: 'virtual_server' | 'nat_gateway' | 'fnat_local' | 'local_service' | 'override';
}

/** An instance's reference to a tracker, with the weight that applies to this instance. */
export interface TrackRef {
  readonly name: string;
  /** Effective weight for this instance (the tracker's own unless overridden here); 0 = FAULT on failure. */
  readonly weight: number;
  readonly weightReverse: boolean;
}

/** Notify scripts of an instance or sync group (keepalived's four arguments for `notify`). */
export interface NotifyScripts {
  readonly master: ScriptCommand | null;
  readonly backup: ScriptCommand | null;
  readonly fault: ScriptCommand | null;
  readonly stop: ScriptCommand | null;
  readonly generic: ScriptCommand | null;
  readonly masterRxLowerPri: ScriptCommand | null;
}

/** One `vrrp_instance`. Key: its name. */
export interface VrrpInstance {
  readonly name: string;
  /** `state`: the initial state wanted; priority 255 starts MASTER whatever this says. */
  readonly initialState: 'MASTER' | 'BACKUP';
  readonly interface: string;
  readonly vrid: number;
  /** Base priority 1..255 (default 100). */
  readonly priority: number;
  /** `advert_int` in ms (v2: whole seconds; v3: centisecond resolution). */
  readonly advertIntervalMs: number;
  readonly version: 2 | 3;
  readonly family: Family;
  /** false when `nopreempt`. */
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  /** `authentication { auth_type PASS; auth_pass X }` (v2 only); null = none. */
  readonly auth: { readonly type: 'PASS'; readonly password: string } | null;
  readonly unicastSrcIp: string | null;
  /** Unicast peers; empty = multicast. */
  readonly unicastPeers: readonly string[];
  readonly mcastSrcIp: string | null;
  readonly vips: readonly Vip[];
  readonly excludedVips: readonly Vip[];
  readonly trackInterfaces: readonly TrackRef[];
  readonly trackScripts: readonly TrackRef[];
  readonly trackFiles: readonly TrackRef[];
  readonly notify: NotifyScripts;
  /** GARP timing with the instance's overrides applied. */
  readonly garp: GarpSettings;
  /** `use_vmac [NAME]`: null = off. */
  readonly useVmac: string | null;
  readonly dontTrackPrimary: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly strictMode: boolean;
  /** `v3_checksum_as_v2`: VRRPv3 IPv4 checksum without the pseudo-header. */
  readonly v3ChecksumAsV2: boolean;
  /**
   * `old_unicast_checksum [never]`: pseudo-header destination of unicast v3 IPv4 adverts
   * (`auto` when absent; see src/vrrp/packet.ts UnicastChecksumMode).
   */
  readonly unicastChecksum: 'auto' | 'never' | 'old';
  /** `lower_prio_no_advert`: a MASTER does not answer a lower-priority advert with its own. */
  readonly lowerPrioNoAdvert: boolean;
  /** `higher_prio_send_advert`: a MASTER sends one advert before yielding to a higher priority. */
  readonly higherPrioSendAdvert: boolean;
  readonly checkUnicastSrc: boolean;
  /** `unicast_peer ADDR [min_ttl N] [max_ttl N]`: TTL / hop-limit window per peer (0..255 when not given). */
  readonly unicastPeerTtl?: Readonly<Record<string, { readonly minTtl: number; readonly maxTtl: number }>>;
  /** Name of the sync group this instance belongs to, if any. */
  readonly syncGroup: string | null;
}

/** One `vrrp_sync_group`. */
export interface VrrpSyncGroup {
  readonly name: string;
  readonly members: readonly string[];
  readonly notify: NotifyScripts;
  readonly trackScripts: readonly TrackRef[];
  readonly trackInterfaces: readonly TrackRef[];
  readonly trackFiles: readonly TrackRef[];
  readonly globalTracking: boolean;
  /** `sync_group_tracking_weight`: members keep their tracker weights (else forced to 0, as keepalived). */
  readonly trackingWeight?: boolean;
}

// ───────────────────────────── checks ─────────────────────────────

/** A status code range, inclusive: `200-299` → {min:200,max:299}. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

/** One `url { }` of HTTP_GET / SSL_GET. */
export interface HttpUrl {
  readonly path: string;
  /** Accepted status codes; default 200-299 as keepalived. */
  readonly statusCodes: readonly StatusRange[];
  /** Lower-case hex MD5 of the body (keepalived genhash), null = not checked. */
  readonly digest: string | null;
  /** Per-url `virtualhost`, overrides the checker's. */
  readonly virtualhost: string | null;
}

/** Timing shared by every checker kind, resolved through keepalived's inheritance. */
export interface CheckTiming {
  /** `delay_loop`: interval between checks while stable. */
  readonly delayLoopMs: number;
  readonly connectTimeoutMs: number;
  /** `retry` / `nb_get_retry`: extra attempts before declaring failure. */
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  /** `warmup`: the first check starts at a random point in [0, warmup]. */
  readonly warmupMs: number;
  /** lvsd extension: consecutive successes to go up (default 1). */
  readonly rise: number;
  /** lvsd extension: consecutive failed checks (each after its retries) to go down (default 1). */
  readonly fall: number;
}

interface CheckerBase {
  /** Stable key within its real server, e.g. `tcp:198.18.1.1:80#0`. */
  readonly key: string;
  readonly timing: CheckTiming;
  /** Address and port the check connects to (`connect_ip`/`connect_port`, default the real server's). */
  readonly connectIp: string;
  readonly connectPort: number;
  /** `bindto` source address, null = kernel's choice. */
  readonly bindTo: string | null;
  readonly bindPort: number | null;
  readonly bindIf: string | null;
  /** `alpha` resolved checker → real server → virtual server: start failed until the first success. */
  readonly alpha?: boolean;
}

/** `TCP_CHECK`. */
export interface TcpChecker extends CheckerBase {
  readonly kind: 'tcp';
}

/** `HTTP_GET` / `SSL_GET`. */
export interface HttpChecker extends CheckerBase {
  readonly kind: 'http' | 'ssl';
  readonly urls: readonly HttpUrl[];
  /** `virtualhost` (Host header), inherited from the virtual server. */
  readonly virtualhost: string | null;
  /** `enable_sni` (SSL_GET): send the virtualhost as SNI. */
  readonly sni: boolean;
  /** Largest body read for a digest (bytes). */
  readonly maxBodyBytes: number;
  /** `http_protocol`: '1.0' | '1.1' (keepalived default 1.0 with Connection: close). */
  readonly httpVersion: '1.0' | '1.1';
}

/** `MISC_CHECK`. */
export interface MiscChecker extends CheckerBase {
  readonly kind: 'misc';
  readonly path: ScriptCommand;
  /** `misc_timeout`, default = delay_loop. */
  readonly timeoutMs: number;
  /** `misc_dynamic`: exit 0 up, 1 down, 2..255 up with weight = code - 2. */
  readonly dynamic: boolean;
  readonly user: ScriptUser | null;
}

/** Any health checker. */
export type Checker = TcpChecker | HttpChecker | MiscChecker;

// ───────────────────────────── LVS ─────────────────────────────

/** One `real_server`. Key: `ip:port` (`[v6]:port` for IPv6). */
export interface RealServer {
  readonly key: string;
  readonly address: string;
  readonly family: Family;
  readonly port: number;
  /** Configured weight (default 1); 0 = quiesced. */
  readonly weight: number;
  /** Per-real-server method (keepalived 2 allows it); default the virtual server's. */
  readonly method: ForwardMethod;
  /** TUN's encapsulation (absent: IP-in-IP, or not TUN); the real server's or the virtual server's `lvs_method TUN ...`. */
  readonly tunnel?: TunnelOptions;
  readonly inhibitOnFailure: boolean;
  readonly notifyUp: ScriptCommand | null;
  readonly notifyDown: ScriptCommand | null;
  /** Upper connection threshold (0 = none). */
  readonly upperThreshold: number;
  /** Lower connection threshold (0 = none). */
  readonly lowerThreshold: number;
  /** `alpha` resolved for this real server: start down until the first success. */
  readonly alpha: boolean;
  readonly checkers: readonly Checker[];
}

/** The service a `sorry_server` stands in for when quorum is lost. */
export interface SorryServer {
  readonly address: string;
  readonly port: number;
  readonly method: ForwardMethod;
  /** TUN's encapsulation (absent: IP-in-IP, or not TUN). */
  readonly tunnel?: TunnelOptions;
  /** `sorry_server_inhibit`. */
  readonly inhibit: boolean;
}

/** Scheduler flags (`sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`, `flag-1..3`). */
export interface SchedulerFlags {
  readonly shFallback: boolean;
  readonly shPort: boolean;
  readonly mhFallback: boolean;
  readonly mhPort: boolean;
}

/** What a virtual service matches: an address/port, a firewall mark, or a named group. */
export type ServiceMatch =
  | { readonly kind: 'addr'; readonly address: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly fwmark: number }
  | { readonly kind: 'group'; readonly group: string };

/**
 * One `virtual_server`. Key: `tcp:198.18.0.10:80`, `udp:[2001:db8::1]:53`, `fwmark:1`,
 * `group:NAME` (a group key carries the protocol too: `group:tcp:NAME`).
 */
export interface VirtualServer {
  readonly key: string;
  readonly match: ServiceMatch;
  readonly protocol: L4Proto;
  readonly family: Family;
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: SchedulerFlags;
  readonly method: ForwardMethod;
  /** `persistence_timeout` in seconds, 0 = no persistence. */
  readonly persistenceTimeoutS: number;
  /** `persistence_granularity` as a prefix length (32 / 128 = per client address). */
  readonly persistenceGranularity: number;
  /** `quorum` (default 1): sum of alive weights needed. */
  readonly quorum: number;
  readonly hysteresis: number;
  readonly quorumUp: ScriptCommand | null;
  readonly quorumDown: ScriptCommand | null;
  readonly sorryServer: SorryServer | null;
  /** `omega`: run quorum_down on removal / at exit as well. */
  readonly omega: boolean;
  /** `ha_suspend`: suspend checkers while the owning VRRP instance is not MASTER. */
  readonly haSuspend: boolean;
  /** `ops`: one-packet scheduling (UDP). */
  readonly ops: boolean;
  readonly virtualhost: string | null;
  /** The VRRP instance whose MASTER state makes this director serve the service; null = always (lvs_interface). */
  readonly ownerInstance: string | null;
  /** Interface on which the core receives this service's traffic. */
  readonly interface: string;
  readonly realServers: Readonly<Record<string, RealServer>>;
  /**
   * FULLNAT (keepalived-dpvs `laddr_group_name`): the `local_address_group` the service's FNAT
   * real servers get their connections from, and its addresses (expanded, canonical). Absent
   * or empty when no real server is FNAT.
   */
  readonly localAddressGroup?: string | null;
  readonly localAddresses?: readonly string[];
}

/** One entry of a `virtual_server_group`: an address range + port, or a firewall mark. */
export type VsGroupEntry =
  | { readonly kind: 'range'; readonly first: string; readonly last: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly fwmark: number };

/** One `virtual_server_group`. */
export interface VirtualServerGroup {
  readonly name: string;
  readonly entries: readonly VsGroupEntry[];
}

/**
 * lvsd's own firewall-mark classification (`fwmark_rules N { ... }`): the core sees frames
 * before netfilter and so cannot see kernel marks; these rules give a packet mark N.
 */
export interface FwmarkRule {
  readonly fwmark: number;
  readonly address: string;
  readonly prefixLen: number;
  readonly protocol: L4Proto;
  readonly portMin: number;
  readonly portMax: number;
}

/** A VIP the forwarding core answers for (ARP/ND, ICMP echo) and forwards. Key: address. */
export interface CoreVip {
  readonly address: string;
  readonly family: Family;
  readonly interface: string;
  /** The VRRP instance that owns it; null = claimed at start on `lvs_interface`. */
  readonly instance: string | null;
  readonly reason: Vip['ownerReason'];
}

/** The whole compiled configuration. */
export interface Model {
  readonly global: GlobalDefs;
  readonly vrrpScripts: Readonly<Record<string, VrrpScript>>;
  readonly vrrpTrackFiles: Readonly<Record<string, VrrpTrackFile>>;
  readonly syncGroups: Readonly<Record<string, VrrpSyncGroup>>;
  readonly instances: Readonly<Record<string, VrrpInstance>>;
  readonly virtualServerGroups: Readonly<Record<string, VirtualServerGroup>>;
  readonly fwmarkRules: readonly FwmarkRule[];
  readonly virtualServers: Readonly<Record<string, VirtualServer>>;
  readonly coreVips: Readonly<Record<string, CoreVip>>;
}
