/**
 * compile(): validated config tree → the immutable Model (src/model/types.ts).
 *
 * Resolves every default and keepalived inheritance (virtual_server → real_server → checker
 * for delay_loop, connect_timeout, retry, delay_before_retry, warmup, alpha, virtualhost;
 * instance GARP settings from global_defs), converts units, builds the keys types.ts
 * documents, checks meaning (duplicate VRIDs, a VIP in two services, references, families,
 * VRRP version rules, ...) and decides who owns each VIP (ARCHITECTURE D4,
 * src/model/ownership.ts). Every finding carries the position of the token at fault.
 *
 * keepalived references: keepalived/check/check_data.c `validate_check_config`,
 * keepalived/vrrp/vrrp.c `vrrp_complete_instance`, keepalived.conf(5).
 */
import type { ConfigDiagnostic, SourcePos } from '../lib/errors.js';
import { sameSubnet, type Family } from '../lib/ip.js';
import { CODES, Diagnostics } from './diagnostics.js';
import { resolveOwnership } from './ownership.js';
import type {
  Checker, CheckTiming, CoreVip, ForwardMethod, FwmarkRule, TunnelOptions, GarpSettings, GlobalDefs, HttpUrl, L4Proto, LvsSyncDaemon, Model, NotifyScripts,
  RealServer, SchedulerFlags, SchedulerName, ScriptCommand, ScriptUser, SorryServer, TrackRef, Vip, VirtualServer,
  VirtualServerGroup, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile, VsGroupEntry,
} from './types.js';
import type {
  SourceMapLike, VBlock, VField, VFwmarkLine, VHostPort, VInitFile, VLaddrLine, VLeaf, VLvsSyncDaemon, VLvsTimeouts, VMethod, VScript, VTrackLine,
  VUnicastPeer, VVipLine, VVsgLine, VWeight, VsHeader,
} from './validated.js';

// lvs_sync_daemon defaults, the kernel's (the sync protocol itself is src/sync/codec.ts).
/** Default multicast group (IP_VS_SYNC_GROUP, 224.0.0.81). */
const SYNC_GROUP4 = '224.0.0.81';
/** Default UDP port (IP_VS_SYNC_PORT). */
const SYNC_PORT = 8848;
/** Default multicast TTL (start_sync_thread: `if (!c->mcast_ttl) c->mcast_ttl = 1`). */
const SYNC_TTL = 1;

/** Inputs compile() takes besides the tree. */
export interface CompileOptions {
  /** Default `router_id` (keepalived: the host name). */
  readonly hostname: string;
}

/** What compile() returns: the model, or null when there are errors; every diagnostic either way. */
export interface CompileResult {
  readonly model: Model | null;
  readonly diagnostics: readonly ConfigDiagnostic[];
  /**
   * The config path of every ScriptCommand object in the model (the keyword line that gave
   * it), so later stages (script security, src/config/script-security.ts) can report at its
   * file:line:col. Keyed by object identity: the model holds these very objects.
   */
  readonly scriptPaths: WeakMap<ScriptCommand, string>;
}

// ───────────────────────────── access helpers ─────────────────────────────

type Field = VField | undefined;

function leafOf<T>(b: VBlock | null | undefined, k: string): VLeaf<T> | undefined {
  const f: Field = b?.fields[k];
  return f && f.kind === 'leaf' ? (f as VLeaf<T>) : undefined;
}
function val<T>(b: VBlock | null | undefined, k: string): T | undefined {
  return leafOf<T>(b, k)?.value;
}
function sub(b: VBlock | null | undefined, k: string): VBlock | undefined {
  const f: Field = b?.fields[k];
  return f && f.kind === 'block' ? f : undefined;
}
function items(b: VBlock | null | undefined, k: string): readonly VBlock[] {
  const f: Field = b?.fields[k];
  return f && f.kind === 'blocks' ? f.items : [];
}
/** True when the keyword was written, even if its value did not parse (already reported). */
function given(b: VBlock | null | undefined, k: string): boolean {
  return b?.fields[k] !== undefined;
}
/** Blocks (or lines) written under a keyword, valid or not. */
function countGiven(b: VBlock | null | undefined, k: string): number {
  const f: Field = b?.fields[k];
  if (!f) return 0;
  if (f.kind === 'blocks') return f.items.length + f.invalid;
  if (f.kind === 'list') return f.entries.length + f.invalid;
  return 1;
}
function lines<T>(b: VBlock | null | undefined, k: string): ReadonlyArray<VLeaf<T>> {
  const f: Field = b?.fields[k];
  return f && f.kind === 'list' ? (f.entries as ReadonlyArray<VLeaf<T>>) : [];
}

/** `[v6]` bracketed for keys. */
export function hostKey(address: string, family: Family): string {
  return family === 'ipv6' ? `[${address}]` : address;
}

const DEFAULT_TIMEOUTS = { tcpS: 900, tcpFinS: 120, udpS: 300 };
/** Default connection-table capacity per worker (lvsd). ~50 MB at the 200 B/entry target of the forwarding core. */
export const DEFAULT_CONN_TABLE_SIZE = 262144;
/** Largest HTTP body read for a digest (keepalived reads whole bodies; lvsd caps them). */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

class Compiler {
  readonly d = new Diagnostics();
  readonly src: SourceMapLike;
  /** Names defined, valid or not (a reference to an invalid one is not a second error). */
  readonly knownScripts = new Set<string>();
  readonly knownFiles = new Set<string>();
  readonly opts: CompileOptions;
  /** global_defs defaults of instance settings (set by global()). */
  instanceDefaults = { lowerPrioNoAdvert: false, higherPrioSendAdvert: false, v3ChecksumAsV2: false };
  readonly scriptPaths = new WeakMap<ScriptCommand, string>();

  constructor(src: SourceMapLike, opts: CompileOptions) {
    this.src = src;
    this.opts = opts;
  }

  /** Position of a path's keyword (or argument `arg`), else of its nearest ancestor. */
  pos(path: string, arg?: number): SourcePos | null {
    let p = path;
    let first = true;
    for (;;) {
      const n = this.src.get(p);
      if (n) {
        if (first && arg !== undefined && arg >= 0 && n.args.length > 0) return n.args[Math.min(arg, n.args.length - 1)]!;
        return n.kw;
      }
      first = false;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return null;
      p = p.slice(0, cut);
    }
  }

  err(code: string, path: string, msg: string, arg?: number): void {
    this.d.error(code, this.pos(path, arg), path, msg);
  }

  warn(code: string, path: string, msg: string, arg?: number): void {
    this.d.warn(code, this.pos(path, arg), path, msg);
  }

  /** "first defined at file:line:col" for duplicate messages. */
  where(path: string): string {
    const p = this.pos(path);
    return p ? `${p.file}:${p.line}:${p.col}` : 'elsewhere';
  }

  // ───────────────────────────── global_defs ─────────────────────────────

  global(root: VBlock): GlobalDefs {
    const g = sub(root, 'global_defs');
    for (const k of ['notification_email', 'notification_email_from', 'smtp_server', 'smtp_connect_timeout']) {
      const f = g?.fields[k];
      if (f) this.warn(CODES.W_UNSUPPORTED, f.path, `\`${k}\` accepted, not supported yet (lvsd does not send mail)`);
    }
    for (const k of ['notify_fifo', 'vrrp_notify_fifo', 'lvs_notify_fifo']) {
      const f = leafOf<{ path: string; user: ScriptUser | null }>(g, k);
      if (f?.value.user) this.warn(CODES.W_UNSUPPORTED, f.path, `the FIFO owner (\`${f.value.user.user}\`) of \`${k}\` is accepted, not supported yet`, 1);
    }
    const minGarp = val<boolean>(g, 'vrrp_min_garp') ?? false;
    const masterDelayMs = val<number>(g, 'vrrp_garp_master_delay') ?? (minGarp ? 0 : 5000);
    const masterRepeat = val<number>(g, 'vrrp_garp_master_repeat') ?? (minGarp ? 1 : 5);
    const garp: GarpSettings = {
      masterDelayMs,
      masterRepeat,
      masterRefreshMs: val<number>(g, 'vrrp_garp_master_refresh') ?? 0,
      masterRefreshRepeat: val<number>(g, 'vrrp_garp_master_refresh_repeat') ?? 1,
      lowerPrioDelayMs: val<number>(g, 'vrrp_garp_lower_prio_delay') ?? masterDelayMs,
      lowerPrioRepeat: val<number>(g, 'vrrp_garp_lower_prio_repeat') ?? masterRepeat,
      intervalMs: val<number>(g, 'vrrp_garp_interval') ?? 0,
      gnaIntervalMs: val<number>(g, 'vrrp_gna_interval') ?? 0,
    };
    const t = val<VLvsTimeouts>(g, 'lvs_timeouts');
    // global defaults of instance settings, resolved into each instance (not kept in GlobalDefs)
    this.instanceDefaults = {
      lowerPrioNoAdvert: val<boolean>(g, 'vrrp_lower_prio_no_advert') ?? false,
      higherPrioSendAdvert: val<boolean>(g, 'vrrp_higher_prio_send_advert') ?? false,
      v3ChecksumAsV2: val<boolean>(g, 'v3_checksum_as_v2') ?? false,
    };
    return {
      routerId: val<string>(g, 'router_id') ?? this.opts.hostname,
      scriptUser: val<ScriptUser>(g, 'script_user') ?? null,
      enableScriptSecurity: val<boolean>(g, 'enable_script_security') ?? false,
      garp,
      vrrpSkipCheckAdvAddr: val<boolean>(g, 'vrrp_skip_check_adv_addr') ?? false,
      vrrpStrict: val<boolean>(g, 'vrrp_strict') ?? false,
      vrrpVersion: val<2 | 3>(g, 'vrrp_version') ?? 2,
      vrrpCheckUnicastSrc: val<boolean>(g, 'vrrp_check_unicast_src') ?? false,
      vrrpMcastGroup4: val<string>(g, 'vrrp_mcast_group4') ?? '224.0.0.18',
      vrrpMcastGroup6: val<string>(g, 'vrrp_mcast_group6') ?? 'ff02::12',
      notifyFifo: val<{ path: string }>(g, 'notify_fifo')?.path ?? null,
      vrrpNotifyFifo: val<{ path: string }>(g, 'vrrp_notify_fifo')?.path ?? null,
      lvsNotifyFifo: val<{ path: string }>(g, 'lvs_notify_fifo')?.path ?? null,
      notificationEmail: lines<string[]>(g, 'notification_email').flatMap((l) => l.value),
      notificationEmailFrom: val<string>(g, 'notification_email_from') ?? null,
      smtpServer: val<string>(g, 'smtp_server') ?? null,
      lvsTimeouts: {
        tcpS: t?.tcpS ?? DEFAULT_TIMEOUTS.tcpS,
        tcpFinS: t?.tcpFinS ?? DEFAULT_TIMEOUTS.tcpFinS,
        udpS: t?.udpS ?? DEFAULT_TIMEOUTS.udpS,
      },
      controlSocket: val<string>(g, 'control_socket') ?? null,
      metricsListen: val<{ address: string; port: number }>(g, 'metrics_listen') ?? null,
      forwardingWorkers: val<number>(g, 'forwarding_workers') ?? 0,
      connTableSize: val<number>(g, 'conn_table_size') ?? DEFAULT_CONN_TABLE_SIZE,
      lvsInterface: val<string>(g, 'lvs_interface') ?? null,
      // Resolved after the instances (its default sync id is the instance's VRID): syncDaemon().
      lvsSyncDaemon: null,
    };
  }

  /**
   * `lvs_sync_daemon` (keepalived vrrp_data.c: the instance is looked up by name and the
   * syncid defaults to its VRID; the checker process runs both daemons when no instance is
   * named, with syncid 0). keepalived logs an unknown instance and drops the setting; lvsd
   * refuses it, so a typo cannot silently switch connection sync off.
   */
  syncDaemon(root: VBlock, instances: ReadonlyArray<{ inst: VrrpInstance }>, instanceNames: ReadonlySet<string>): LvsSyncDaemon | null {
    const l = leafOf<VLvsSyncDaemon>(sub(root, 'global_defs'), 'lvs_sync_daemon');
    if (!l) return null;
    const v = l.value;
    let syncId = v.syncId ?? 0;
    if (v.instance !== null) {
      const inst = instances.find((x) => x.inst.name === v.instance)?.inst;
      if (!inst) {
        // An instance that exists but did not compile was reported already.
        if (!instanceNames.has(v.instance)) {
          this.err(CODES.REFERENCE, l.path, `lvs_sync_daemon: \`${v.instance}\` is not a defined vrrp_instance${suggest(v.instance, [...instanceNames])}`, v.instanceArg);
        }
        return null;
      }
      syncId = v.syncId ?? inst.vrid;
    }
    const family = v.group?.family ?? 'ipv4';
    return {
      interface: v.interface, instance: v.instance, syncId, maxLen: v.maxLen,
      group: v.group?.address ?? SYNC_GROUP4, family, port: v.port ?? SYNC_PORT, ttl: v.ttl ?? SYNC_TTL,
    };
  }

  // ───────────────────────────── VRRP ─────────────────────────────

  scripts(root: VBlock): Record<string, VrrpScript> {
    const out: Record<string, VrrpScript> = {};
    for (const b of items(root, 'vrrp_script')) {
      const name = b.key!;
      this.knownScripts.add(name);
      const cmd = val<ScriptCommand>(b, 'script');
      if (!cmd) {
        if (!given(b, 'script')) this.err(CODES.MISSING, b.path, `vrrp_script \`${name}\` has no \`script\``);
        continue;
      }
      const intervalMs = val<number>(b, 'interval') ?? 1000;
      const w = val<VWeight>(b, 'weight');
      this.scriptPaths.set(cmd, leafOf(b, 'script')!.path);
      out[name] = {
        name,
        script: cmd,
        intervalMs,
        timeoutMs: val<number>(b, 'timeout') ?? intervalMs,
        weight: w?.weight ?? 0,
        weightReverse: w?.reverse ?? false,
        rise: val<number>(b, 'rise') ?? 1,
        fall: val<number>(b, 'fall') ?? 1,
        user: val<ScriptUser>(b, 'user') ?? null,
        initFail: val<boolean>(b, 'init_fail') ?? false,
      };
    }
    return out;
  }

  trackFiles(root: VBlock): Record<string, VrrpTrackFile> {
    const out: Record<string, VrrpTrackFile> = {};
    const firstPath = new Map<string, string>();
    for (const b of items(root, 'track_file')) {
      const name = b.key!;
      if (firstPath.has(name)) {
        this.err(CODES.DUPLICATE, b.path, `track_file \`${name}\` is defined twice (first at ${this.where(firstPath.get(name)!)})`, 0);
        continue;
      }
      firstPath.set(name, b.path);
      this.knownFiles.add(name);
      const file = val<string>(b, 'file');
      if (!file) {
        if (!given(b, 'file')) this.err(CODES.MISSING, b.path, `track_file \`${name}\` has no \`file\``);
        continue;
      }
      const w = val<VWeight>(b, 'weight');
      const init = val<VInitFile>(b, 'init_file');
      out[name] = {
        name, file, weight: w?.weight ?? 1, weightReverse: w?.reverse ?? false,
        initValue: init ? init.value : null, initOverwrite: init?.overwrite ?? false,
      };
    }
    return out;
  }

  /** The script of keyword k of block b, its config path recorded. */
  scriptOf(b: VBlock, k: string): ScriptCommand | null {
    const l = leafOf<VScript>(b, k);
    if (!l) return null;
    const cmd: ScriptCommand = { ...l.value.command, user: l.value.user };
    this.scriptPaths.set(cmd, l.path);
    return cmd;
  }

  notify(b: VBlock): NotifyScripts {
    const s = (k: string): ScriptCommand | null => this.scriptOf(b, k);
    return {
      master: s('notify_master'), backup: s('notify_backup'), fault: s('notify_fault'), stop: s('notify_stop'),
      generic: s('notify'), masterRxLowerPri: s('notify_master_rx_lower_pri'),
    };
  }

  /** Resolves tracker lines against their definitions (unknown names are reference errors). */
  trackRefs(
    b: VBlock, kw: 'track_script' | 'track_file' | 'track_interface', scripts: Record<string, VrrpScript>, files: Record<string, VrrpTrackFile>,
  ): TrackRef[] {
    const out: TrackRef[] = [];
    const seen = new Set<string>();
    for (const l of lines<VTrackLine>(b, kw)) {
      const t = l.value;
      if (seen.has(t.name)) {
        this.warn(CODES.W_REPEATED, l.path, `\`${t.name}\` is listed twice in ${kw}; the first one counts`);
        continue;
      }
      seen.add(t.name);
      let defWeight = 0;
      let defReverse = false;
      if (kw === 'track_script') {
        const s = scripts[t.name];
        if (!s && this.knownScripts.has(t.name)) continue;
        if (!s) {
          this.err(CODES.REFERENCE, l.path, `track_script \`${t.name}\` is not a defined vrrp_script${suggest(t.name, Object.keys(scripts))}`, 0);
          continue;
        }
        defWeight = s.weight;
        defReverse = s.weightReverse;
      } else if (kw === 'track_file') {
        const f = files[t.name];
        if (!f && this.knownFiles.has(t.name)) continue;
        if (!f) {
          this.err(CODES.REFERENCE, l.path, `track_file \`${t.name}\` is not a defined track_file${suggest(t.name, Object.keys(files))}`, 0);
          continue;
        }
        defWeight = f.weight;
        defReverse = f.weightReverse;
      }
      out.push({ name: t.name, weight: t.weight ?? defWeight, weightReverse: t.reverse ?? defReverse });
    }
    return out;
  }

  syncGroups(root: VBlock, scripts: Record<string, VrrpScript>, files: Record<string, VrrpTrackFile>, instanceNames: Set<string>): {
    groups: Record<string, VrrpSyncGroup>; memberOf: Map<string, string>;
  } {
    const groups: Record<string, VrrpSyncGroup> = {};
    const memberOf = new Map<string, string>();
    const memberPath = new Map<string, string>();
    for (const b of items(root, 'vrrp_sync_group')) {
      const name = b.key!;
      const members: string[] = [];
      let rejected = countGiven(b, 'group') - lines<string[]>(b, 'group').length;
      for (const l of lines<string[]>(b, 'group')) {
        l.value.forEach((m, i) => {
          if (members.includes(m)) {
            this.warn(CODES.W_REPEATED, l.path, `\`${m}\` is listed twice in vrrp_sync_group \`${name}\``, i);
            return;
          }
          if (!instanceNames.has(m)) {
            this.err(CODES.REFERENCE, l.path, `vrrp_sync_group \`${name}\`: \`${m}\` is not a defined vrrp_instance${suggest(m, instanceNames)}`, i);
            rejected++;
            return;
          }
          const other = memberOf.get(m);
          if (other !== undefined) {
            rejected++;
            this.err(CODES.CONFLICT, l.path,
              `vrrp_instance \`${m}\` is already in vrrp_sync_group \`${other}\` (at ${this.where(memberPath.get(m)!)}); an instance can be in one sync group only`, i);
            return;
          }
          memberOf.set(m, name);
          memberPath.set(m, l.path);
          members.push(m);
        });
      }
      if (!b.fields.group) {
        this.err(CODES.MISSING, b.path, `vrrp_sync_group \`${name}\` has no \`group { }\` of instances`);
      } else if (members.length === 1 && rejected === 0) {
        this.warn(CODES.W_ADJUSTED, b.path, `vrrp_sync_group \`${name}\` has only one instance; that is probably not what you want (keepalived says the same)`, 0);
      }
      groups[name] = {
        name,
        members,
        notify: this.notify(b),
        trackScripts: this.trackRefs(b, 'track_script', scripts, files),
        trackInterfaces: this.trackRefs(b, 'track_interface', scripts, files),
        trackFiles: this.trackRefs(b, 'track_file', scripts, files),
        globalTracking: val<boolean>(b, 'global_tracking') ?? false,
        trackingWeight: val<boolean>(b, 'sync_group_tracking_weight') ?? false,
      };
    }
    return { groups, memberOf };
  }

  vip(l: VLeaf<VVipLine>, dev: string): Vip {
    const v = l.value;
    return {
      address: v.address, family: v.family, prefixLen: v.prefixLen, dev: v.dev ?? dev, label: v.label, brd: v.brd, scope: v.scope,
      noTrack: v.noTrack,
      // decided by resolveOwnership()
      owner: v.ownerOverride ?? 'kernel',
      ownerReason: v.ownerOverride ? 'override' : 'local_service',
    };
  }

  instance(
    b: VBlock, g: GlobalDefs, scripts: Record<string, VrrpScript>, files: Record<string, VrrpTrackFile>,
    memberOf: Map<string, string>, groups: Record<string, VrrpSyncGroup>,
  ): VrrpInstance | null {
    const name = b.key!;
    const iface = val<string>(b, 'interface');
    const vrid = val<number>(b, 'virtual_router_id');
    let ok = true;
    if (iface === undefined && !b.fields.interface) {
      this.err(CODES.MISSING, b.path, `vrrp_instance \`${name}\` has no \`interface\``, 0);
      ok = false;
    }
    if (vrid === undefined && !b.fields.virtual_router_id) {
      this.err(CODES.MISSING, b.path, `vrrp_instance \`${name}\` has no \`virtual_router_id\``, 0);
      ok = false;
    }
    const dev = iface ?? '';
    const vipLines = lines<VVipLine>(b, 'virtual_ipaddress');
    const vips: Vip[] = [];
    const seenVip = new Map<string, string>();
    let family: Family | null = null;
    for (const l of vipLines) {
      if (seenVip.has(l.value.address)) {
        this.warn(CODES.W_REPEATED, l.path, `VIP ${l.value.address} is listed twice in vrrp_instance \`${name}\`; the first one (at ${this.where(seenVip.get(l.value.address)!)}) is used`, 0);
        continue;
      }
      if (family === null) family = l.value.family;
      else if (l.value.family !== family) {
        this.err(CODES.CONFLICT, l.path,
          `all virtual_ipaddress entries of an instance must be one address family (this one is ${famName(l.value.family)}, the first is ${famName(family)}); put the others in virtual_ipaddress_excluded or another instance`, 0);
        continue;
      }
      seenVip.set(l.value.address, l.path);
      vips.push(this.vip(l, dev));
    }
    const excludedVips: Vip[] = [];
    for (const l of lines<VVipLine>(b, 'virtual_ipaddress_excluded')) {
      if (seenVip.has(l.value.address)) {
        this.warn(CODES.W_REPEATED, l.path, `VIP ${l.value.address} is listed twice in vrrp_instance \`${name}\`; the first one (at ${this.where(seenVip.get(l.value.address)!)}) is used`, 0);
        continue;
      }
      seenVip.set(l.value.address, l.path);
      excludedVips.push(this.vip(l, dev));
    }
    const strictMode = val<boolean>(b, 'strict_mode') ?? g.vrrpStrict;
    const peers = lines<VUnicastPeer>(b, 'unicast_peer');
    if (family === null) {
      family = peers[0]?.value.family ?? excludedVips[0]?.family ?? 'ipv4';
      if (countGiven(b, 'virtual_ipaddress') > 0) {
        // its lines did not parse: already reported
      } else if (strictMode) this.err(CODES.MISSING, b.path, `vrrp_instance \`${name}\` has no virtual_ipaddress; strict mode needs at least one`, 0);
      else this.warn(CODES.W_ADJUSTED, b.path, `vrrp_instance \`${name}\` has no virtual_ipaddress; at least one is sensible (keepalived says the same)`, 0);
    }

    // Version: explicit, else global; IPv6 is always VRRPv3 (keepalived: "cannot use IPv6 with VRRP version 2; setting version 3").
    const vLeaf = leafOf<2 | 3>(b, 'version');
    let version: 2 | 3 = vLeaf?.value ?? g.vrrpVersion;
    if (family === 'ipv6' && version === 2) {
      if (vLeaf) this.warn(CODES.W_ADJUSTED, vLeaf.path, 'IPv6 needs VRRPv3; using version 3, as keepalived does', 0);
      version = 3;
    }

    // advert_int: RFC 3768 §5.3.7 (whole seconds, 8 bits) vs RFC 5798 §5.2.7 (centiseconds, 12 bits).
    const aLeaf = leafOf<number>(b, 'advert_int');
    let advertIntervalMs = aLeaf?.value ?? 1000;
    if (aLeaf) {
      if (version === 2) {
        if (advertIntervalMs % 1000 !== 0 || advertIntervalMs < 1000) {
          this.err(CODES.VALUE, aLeaf.path, `advert_int ${advertIntervalMs / 1000} s: VRRPv2 carries whole seconds (1-255); use \`version 3\` for sub-second adverts`, 0);
          ok = false;
        }
      } else {
        if (advertIntervalMs > 40950) {
          this.err(CODES.VALUE, aLeaf.path, `advert_int ${advertIntervalMs / 1000} s: VRRPv3 allows at most 40.95 s`, 0);
          ok = false;
        }
        const cs = Math.round(advertIntervalMs / 10);
        if (cs * 10 !== advertIntervalMs) {
          this.warn(CODES.W_ADJUSTED, aLeaf.path, `advert_int ${advertIntervalMs / 1000} s rounded to ${cs / 100} s (VRRPv3 counts centiseconds)`, 0);
          advertIntervalMs = cs * 10;
        }
      }
    }

    const priority = val<number>(b, 'priority') ?? 100;
    const stateLeaf = leafOf<'MASTER' | 'BACKUP'>(b, 'state');
    const initialState = stateLeaf?.value ?? 'BACKUP';
    const preemptLeaf = leafOf<boolean>(b, 'preempt');
    let preempt = preemptLeaf?.value ?? true;
    if (!preempt && preemptLeaf) {
      if (priority === 255) {
        this.warn(CODES.W_ADJUSTED, preemptLeaf.path, 'nopreempt has no effect on the address owner (priority 255), which always takes over');
      } else if (initialState === 'MASTER') {
        this.warn(CODES.W_ADJUSTED, preemptLeaf.path, 'nopreempt needs `state BACKUP`; with `state MASTER` it is ignored, as in keepalived');
        preempt = true;
      }
    }
    const pdLeaf = leafOf<number>(b, 'preempt_delay');
    let preemptDelayMs = pdLeaf?.value ?? 0;
    if (pdLeaf && preemptDelayMs > 0) {
      if (!preempt) this.warn(CODES.W_ADJUSTED, pdLeaf.path, 'preempt_delay has no effect with nopreempt');
      else if (strictMode) {
        this.warn(CODES.W_ADJUSTED, pdLeaf.path, 'strict mode does not allow preempt_delay; ignored, as keepalived does');
        preemptDelayMs = 0;
      } else if (initialState === 'MASTER') {
        this.warn(CODES.W_ADJUSTED, pdLeaf.path, 'preempt_delay needs `state BACKUP` to have an effect');
      }
    }
    if (strictMode && initialState === 'MASTER' && priority !== 255 && stateLeaf) {
      this.err(CODES.CONFLICT, stateLeaf.path, 'strict mode: `state MASTER` only with priority 255 (the address owner)', 0);
      ok = false;
    }

    // Authentication: VRRPv2 only (RFC 3768 §5.3.6; RFC 5798 removed it).
    let auth: VrrpInstance['auth'] = null;
    const a = sub(b, 'authentication');
    if (a) {
      const type = leafOf<'PASS' | 'AH'>(a, 'auth_type');
      const pass = leafOf<string>(a, 'auth_pass');
      if (version === 3) {
        this.err(CODES.CONFLICT, a.path, 'authentication is VRRPv2 only (RFC 5798 has none); remove it or use `version 2`');
        ok = false;
      } else if (strictMode) {
        this.warn(CODES.W_ADJUSTED, a.path, 'strict mode does not support authentication; ignored, as keepalived does');
      } else if (type?.value === 'AH') {
        this.warn(CODES.W_UNSUPPORTED, type.path, '`auth_type AH` accepted, not supported yet (no authentication is used)', 0);
      } else if (!pass) {
        if (!given(a, 'auth_pass')) this.err(CODES.MISSING, a.path, 'authentication needs `auth_pass`');
        ok = false;
      } else {
        let password = pass.value;
        if (password.length > 8) {
          this.warn(CODES.W_ADJUSTED, pass.path, `auth_pass is longer than 8 characters; only \`${password.slice(0, 8)}\` is used, as keepalived does`, 0);
          password = password.slice(0, 8);
        }
        auth = { type: 'PASS', password };
      }
    }

    // Unicast.
    const unicastPeers: string[] = [];
    const unicastPeerTtl: Record<string, { minTtl: number; maxTtl: number }> = {};
    let anyTtl = false;
    for (const l of peers) {
      const p = l.value;
      if (p.family !== family) {
        this.err(CODES.CONFLICT, l.path, `unicast peer ${p.address} is ${famName(p.family)} but the instance is ${famName(family)}`, 0);
        ok = false;
        continue;
      }
      if (unicastPeers.includes(p.address)) {
        this.warn(CODES.W_REPEATED, l.path, `unicast peer ${p.address} is listed twice`, 0);
        continue;
      }
      unicastPeers.push(p.address);
      unicastPeerTtl[p.address] = { minTtl: p.minTtl ?? 0, maxTtl: p.maxTtl ?? 255 };
      if (p.minTtl !== null || p.maxTtl !== null) anyTtl = true;
    }
    if (strictMode && unicastPeers.length) {
      this.err(CODES.CONFLICT, b.fields.unicast_peer!.path, 'strict mode does not allow unicast peers');
      ok = false;
    }
    const srcLeaf = leafOf<{ address: string; family: Family }>(b, 'unicast_src_ip');
    if (srcLeaf && srcLeaf.value.family !== family) {
      this.err(CODES.CONFLICT, srcLeaf.path, `unicast_src_ip ${srcLeaf.value.address} is ${famName(srcLeaf.value.family)} but the instance is ${famName(family)}`, 0);
      ok = false;
    }
    const mcastLeaf = leafOf<{ address: string; family: Family }>(b, 'mcast_src_ip');
    if (mcastLeaf && mcastLeaf.value.family !== family) {
      this.err(CODES.CONFLICT, mcastLeaf.path, `mcast_src_ip ${mcastLeaf.value.address} is ${famName(mcastLeaf.value.family)} but the instance is ${famName(family)}`, 0);
      ok = false;
    }

    // Trackers; keepalived zeroes member weights in a sync group (unless sync_group_tracking_weight)
    // and for the address owner (keepalived.conf(5) "Track files", vrrp_script).
    const syncGroup = memberOf.get(name) ?? null;
    const sg = syncGroup ? groups[syncGroup] : undefined;
    const zeroIn = sg && !sg.trackingWeight && !sg.globalTracking ? `vrrp_sync_group \`${syncGroup}\`` : priority === 255 ? 'the address owner (priority 255)' : null;
    const zero = (refs: TrackRef[], kw: string): TrackRef[] => refs.map((r) => {
      if (zeroIn === null || r.weight === 0) return r;
      const l = lines<VTrackLine>(b, kw).find((x) => x.value.name === r.name);
      this.warn(CODES.W_ADJUSTED, l?.path ?? b.path, `${kw} \`${r.name}\`: weight ${r.weight} set to 0 because the instance is in ${zeroIn}, as keepalived does`, 0);
      return { ...r, weight: 0 };
    });
    const trackScripts = zero(this.trackRefs(b, 'track_script', scripts, files), 'track_script');
    const trackFiles = zero(this.trackRefs(b, 'track_file', scripts, files), 'track_file');
    // keepalived: "Ignoring track_interface IF since own interface" (it is tracked anyway).
    const trackInterfaces = this.trackRefs(b, 'track_interface', scripts, files).filter((r) => {
      if (r.name !== iface) return true;
      const l = lines<VTrackLine>(b, 'track_interface').find((x) => x.value.name === r.name);
      this.warn(CODES.W_ADJUSTED, l?.path ?? b.path, `track_interface ${r.name} ignored: it is the instance's own interface, tracked anyway (as keepalived does)`, 0);
      return false;
    });

    const vmac = leafOf<{ name: string | null }>(b, 'use_vmac');
    if (vmac) this.warn(CODES.W_UNSUPPORTED, vmac.path, '`use_vmac` accepted, not supported yet');

    const gi = g.garp;
    const masterDelayMs = val<number>(b, 'garp_master_delay') ?? gi.masterDelayMs;
    const masterRepeat = val<number>(b, 'garp_master_repeat') ?? gi.masterRepeat;
    const garp: GarpSettings = {
      masterDelayMs,
      masterRepeat,
      masterRefreshMs: val<number>(b, 'garp_master_refresh') ?? gi.masterRefreshMs,
      masterRefreshRepeat: val<number>(b, 'garp_master_refresh_repeat') ?? gi.masterRefreshRepeat,
      lowerPrioDelayMs: val<number>(b, 'garp_lower_prio_delay') ?? gi.lowerPrioDelayMs,
      lowerPrioRepeat: val<number>(b, 'garp_lower_prio_repeat') ?? gi.lowerPrioRepeat,
      intervalMs: gi.intervalMs,
      gnaIntervalMs: gi.gnaIntervalMs,
    };

    // keepalived vrrp.c vrrp_complete_instance: strict mode forces lower_prio_no_advert on and
    // higher_prio_send_advert off ("Strict mode requires no lower priority advert - resetting").
    let lowerPrioNoAdvert = val<boolean>(b, 'lower_prio_no_advert');
    const lpna = leafOf(b, 'lower_prio_no_advert');
    if (lowerPrioNoAdvert === undefined) lowerPrioNoAdvert = strictMode || this.instanceDefaults.lowerPrioNoAdvert;
    else if (strictMode && !lowerPrioNoAdvert) {
      this.warn(CODES.W_ADJUSTED, lpna?.path ?? b.path, 'strict mode requires lower_prio_no_advert; set on, as keepalived does', 0);
      lowerPrioNoAdvert = true;
    }
    let higherPrioSendAdvert = val<boolean>(b, 'higher_prio_send_advert');
    const hpsa = leafOf(b, 'higher_prio_send_advert');
    if (higherPrioSendAdvert === undefined) higherPrioSendAdvert = !strictMode && this.instanceDefaults.higherPrioSendAdvert;
    else if (strictMode && higherPrioSendAdvert) {
      this.warn(CODES.W_ADJUSTED, hpsa?.path ?? b.path, 'strict mode requires higher_prio_send_advert to be off; set off, as keepalived does', 0);
      higherPrioSendAdvert = false;
    }

    if (!ok || iface === undefined || vrid === undefined) return null;
    return {
      name, initialState, interface: iface, vrid, priority, advertIntervalMs, version, family, preempt, preemptDelayMs, auth,
      unicastSrcIp: srcLeaf?.value.address ?? null,
      unicastPeers,
      mcastSrcIp: mcastLeaf?.value.address ?? null,
      vips, excludedVips, trackInterfaces, trackScripts, trackFiles,
      notify: this.notify(b),
      garp,
      useVmac: vmac ? (vmac.value.name ?? `vrrp.${vrid}`) : null,
      dontTrackPrimary: val<boolean>(b, 'dont_track_primary') ?? false,
      skipCheckAdvAddr: val<boolean>(b, 'skip_check_adv_addr') ?? g.vrrpSkipCheckAdvAddr,
      strictMode,
      v3ChecksumAsV2: val<boolean>(b, 'v3_checksum_as_v2') ?? this.instanceDefaults.v3ChecksumAsV2,
      unicastChecksum: val<'old' | 'never'>(b, 'old_unicast_checksum') ?? 'auto',
      lowerPrioNoAdvert,
      higherPrioSendAdvert,
      checkUnicastSrc: val<boolean>(b, 'check_unicast_src') ?? (anyTtl || g.vrrpCheckUnicastSrc),
      unicastPeerTtl,
      syncGroup,
    };
  }

  /** Duplicate VRIDs on one interface and family (keepalived vrrp_data.c), and a VIP in two instances. */
  checkInstances(list: ReadonlyArray<{ inst: VrrpInstance; b: VBlock }>): void {
    const byVrid = new Map<string, { inst: VrrpInstance; b: VBlock }[]>();
    for (const x of list) {
      const k = `${x.inst.interface}\u0000${x.inst.family}\u0000${x.inst.vrid}`;
      const same = byVrid.get(k) ?? [];
      for (const o of same) {
        const bothUnicast = o.inst.unicastPeers.length > 0 && x.inst.unicastPeers.length > 0;
        const overlap = o.inst.unicastPeers.some((p) => x.inst.unicastPeers.includes(p));
        if (bothUnicast && !overlap) continue; // keepalived allows it when the unicast peer sets are disjoint
        const vp = leafOf(x.b, 'virtual_router_id')?.path ?? x.b.path;
        this.err(CODES.CONFLICT, vp,
          `VRID ${x.inst.vrid} is already used on ${x.inst.interface} (${famName(x.inst.family)}) by vrrp_instance \`${o.inst.name}\` (at ${this.where(leafOf(o.b, 'virtual_router_id')?.path ?? o.b.path)})`, 0);
      }
      same.push(x);
      byVrid.set(k, same);
    }
    const vipOwner = new Map<string, { inst: string; path: string }>();
    for (const x of list) {
      for (const kw of ['virtual_ipaddress', 'virtual_ipaddress_excluded']) {
        for (const l of lines<VVipLine>(x.b, kw)) {
          const o = vipOwner.get(l.value.address);
          if (o && o.inst !== x.inst.name) {
            this.err(CODES.CONFLICT, l.path, `VIP ${l.value.address} is also in vrrp_instance \`${o.inst}\` (at ${this.where(o.path)}); a VIP belongs to one instance`, 0);
          } else if (!o) {
            vipOwner.set(l.value.address, { inst: x.inst.name, path: l.path });
          }
        }
      }
    }
  }

  // ───────────────────────────── LVS ─────────────────────────────

  vsGroups(root: VBlock): Record<string, VirtualServerGroup & { readonly family: Family | null; readonly path: string }> {
    const out: Record<string, VirtualServerGroup & { family: Family | null; path: string }> = {};
    for (const b of items(root, 'virtual_server_group')) {
      const name = b.key!;
      const entries: VsGroupEntry[] = [];
      let family: Family | null = null;
      for (const l of lines<VVsgLine>(b, 'lines')) {
        const e = l.value;
        if (e.kind === 'fwmark') {
          entries.push({ kind: 'fwmark', fwmark: e.fwmark });
          continue;
        }
        if (family !== null && e.family !== family) {
          this.err(CODES.CONFLICT, l.path, `virtual_server_group \`${name}\` mixes IPv4 and IPv6 addresses (lvsd forwards NAT/DR only, which needs one family)`, 0);
          continue;
        }
        family = e.family;
        entries.push({ kind: 'range', first: e.first, last: e.last, port: e.port ?? 0 });
      }
      if (entries.length === 0 && countGiven(b, 'lines') === 0) this.err(CODES.MISSING, b.path, `virtual_server_group \`${name}\` has no entries`, 0);
      out[name] = { name, entries, family, path: b.path };
    }
    return out;
  }

  /** A local address must not also be an address a virtual server answers on, nor a real server's. */
  checkLocalAddresses(services: Array<{ vs: Omit<VirtualServer, 'ownerInstance' | 'interface'>; b: VBlock; addrs: VsAddresses }>, laddrs: ReturnType<Compiler['laddrGroups']>): void {
    const served = new Map<string, string>();
    for (const s of services) for (const a of s.addrs.exact) served.set(a, s.vs.key);
    const reals = new Map<string, string>();
    for (const s of services) for (const r of Object.values(s.vs.realServers)) reals.set(r.address, s.vs.key);
    for (const g of Object.values(laddrs)) {
      for (const a of g.addresses) {
        const v = served.get(a.address);
        if (v) this.err(CODES.CONFLICT, a.path, `local address ${a.address} of local_address_group \`${g.name}\` is also an address of virtual_server ${v}`, 0);
        const r = reals.get(a.address);
        if (r) this.err(CODES.CONFLICT, a.path, `local address ${a.address} of local_address_group \`${g.name}\` is also a real server of virtual_server ${r}`, 0);
      }
    }
  }

  /** `local_address_group NAME { ADDRESS|RANGE [IFNAME] ... }` (keepalived-dpvs, the LVS FULLNAT patches). */
  laddrGroups(root: VBlock): Record<string, { name: string; path: string; addresses: Array<{ address: string; family: Family; ifname: string | null; path: string }> }> {
    const out: Record<string, { name: string; path: string; addresses: Array<{ address: string; family: Family; ifname: string | null; path: string }> }> = {};
    for (const b of items(root, 'local_address_group')) {
      const name = b.key!;
      const addresses: Array<{ address: string; family: Family; ifname: string | null; path: string }> = [];
      const seen = new Set<string>();
      for (const l of lines<VLaddrLine>(b, 'lines')) {
        const e = l.value;
        for (const a of expandRange(e.first, e.last)) {
          if (seen.has(a)) continue;
          seen.add(a);
          addresses.push({ address: a, family: e.family, ifname: e.ifname, path: l.path });
        }
      }
      if (addresses.length > 65536) {
        this.err(CODES.VALUE, b.path, `local_address_group \`${name}\` has ${addresses.length} addresses; lvsd takes at most 65536`, 0);
      }
      if (addresses.length === 0 && countGiven(b, 'lines') === 0) this.err(CODES.MISSING, b.path, `local_address_group \`${name}\` has no addresses`, 0);
      out[name] = { name, path: b.path, addresses };
    }
    return out;
  }

  fwmarkRules(root: VBlock): { rules: FwmarkRule[]; byMark: Map<number, { rules: FwmarkRule[]; path: string; used: boolean }> } {
    const rules: FwmarkRule[] = [];
    const byMark = new Map<number, { rules: FwmarkRule[]; path: string; used: boolean }>();
    const all: Array<{ r: FwmarkRule; path: string }> = [];
    for (const b of items(root, 'fwmark_rules')) {
      const mark = b.header as number;
      if (byMark.has(mark)) {
        this.err(CODES.DUPLICATE, b.path, `fwmark_rules ${mark} is defined twice (first at ${this.where(byMark.get(mark)!.path)})`, 0);
        continue;
      }
      const mine: FwmarkRule[] = [];
      for (const l of lines<VFwmarkLine>(b, 'lines')) {
        const v = l.value;
        const r: FwmarkRule = { fwmark: mark, address: v.address, prefixLen: v.prefixLen, protocol: v.protocol, portMin: v.portMin, portMax: v.portMax };
        for (const o of all) {
          if (o.r.protocol !== r.protocol || o.r.portMax < r.portMin || r.portMax < o.r.portMin) continue;
          const fam = v.family;
          const plen = Math.min(o.r.prefixLen, r.prefixLen);
          if ((o.r.address.includes(':') ? 'ipv6' : 'ipv4') !== fam || !sameSubnet(o.r.address, r.address, plen)) continue;
          if (o.r.fwmark !== r.fwmark) {
            this.err(CODES.CONFLICT, l.path, `this rule overlaps fwmark_rules ${o.r.fwmark} (at ${this.where(o.path)}); a packet can carry one mark only`, 0);
          }
        }
        all.push({ r, path: l.path });
        mine.push(r);
        rules.push(r);
      }
      if (mine.length === 0 && countGiven(b, 'lines') === 0) this.err(CODES.MISSING, b.path, `fwmark_rules ${mark} has no rules`, 0);
      byMark.set(mark, { rules: mine, path: b.path, used: false });
    }
    return { rules, byMark };
  }

  virtualServers(
    root: VBlock, g: GlobalDefs, groups: ReturnType<Compiler['vsGroups']>,
    fw: ReturnType<Compiler['fwmarkRules']>, laddrs: ReturnType<Compiler['laddrGroups']> = {},
  ): Array<{ vs: Omit<VirtualServer, 'ownerInstance' | 'interface'>; b: VBlock; addrs: VsAddresses }> {
    const out: Array<{ vs: Omit<VirtualServer, 'ownerInstance' | 'interface'>; b: VBlock; addrs: VsAddresses }> = [];
    const byKey = new Map<string, string>();
    const tuples = new Map<string, { key: string; path: string }>();
    for (const b of items(root, 'virtual_server')) {
      const r = this.virtualServer(b, groups, fw, laddrs);
      if (!r) continue;
      const prev = byKey.get(r.vs.key);
      if (prev) {
        this.err(CODES.DUPLICATE, b.path, `virtual_server ${describeMatch(r.vs.match, r.vs.protocol)} is defined twice (first at ${this.where(prev)})`, 0);
        continue;
      }
      byKey.set(r.vs.key, b.path);
      // A VIP:port served twice for one protocol (directly, or through a group range).
      for (const t of r.addrs.tuples) {
        const tk = `${r.vs.protocol}\u0000${t.address}\u0000${t.port}`;
        const o = tuples.get(tk);
        if (o && o.key !== r.vs.key) {
          this.err(CODES.CONFLICT, b.path,
            `${t.address}:${t.port}/${r.vs.protocol} is already served by virtual_server ${o.key} (at ${this.where(o.path)})`, 0);
          break;
        }
        tuples.set(tk, { key: r.vs.key, path: b.path });
      }
      out.push({ vs: r.vs, b, addrs: r.addrs });
    }
    // Packets an fwmark service classifies that an address service also matches: the mark wins, as in IPVS.
    for (const x of out) {
      for (const m of x.addrs.marks) {
        for (const rule of fw.byMark.get(m)?.rules ?? []) {
          for (const [tk, o] of tuples) {
            const [proto, address, portText] = tk.split('\u0000') as [string, string, string];
            const port = Number(portText);
            if (proto !== rule.protocol || port < rule.portMin || port > rule.portMax) continue;
            if ((address.includes(':') ? 128 : 32) < rule.prefixLen || !sameSubnet(address, rule.address, rule.prefixLen)) continue;
            if (!(address.includes(':') === rule.address.includes(':'))) continue;
            this.warn(CODES.W_ADJUSTED, x.b.path,
              `${address}:${port}/${proto} matches fwmark_rules ${m} and virtual_server ${o.key}; the fwmark service takes those packets, as IPVS does`, 0);
          }
        }
      }
    }
    for (const [mark, e] of fw.byMark) {
      if (!e.used) this.warn(CODES.W_ADJUSTED, e.path, `fwmark_rules ${mark} is not used by any virtual_server`, 0);
    }
    return out;
  }

  virtualServer(
    b: VBlock, groups: ReturnType<Compiler['vsGroups']>, fw: ReturnType<Compiler['fwmarkRules']>,
    laddrs: ReturnType<Compiler['laddrGroups']> = {},
  ): { vs: Omit<VirtualServer, 'ownerInstance' | 'interface'>; addrs: VsAddresses } | null {
    const h = b.header as VsHeader;
    let ok = true;
    const addrs: VsAddresses = { tuples: [], exact: [], marks: [], prefixes: [], locals: [] };
    const protoLeaf = leafOf<'tcp' | 'udp' | 'sctp'>(b, 'protocol');
    if (protoLeaf?.value === 'sctp') {
      this.err(CODES.NOT_SUPPORTED, protoLeaf.path, '`protocol SCTP` is not supported (lvsd forwards TCP and UDP)', 0);
      return null;
    }
    let family: Family | null = null;
    let vsPort = 0;
    let group: (typeof groups)[string] | undefined;
    let hasRanges = false;
    const marks: number[] = [];
    if (h.kind === 'addr') {
      family = h.family;
      vsPort = h.port ?? 0;
      hasRanges = true;
    } else if (h.kind === 'group') {
      group = groups[h.group];
      if (!group) {
        this.err(CODES.REFERENCE, b.path, `virtual_server group \`${h.group}\`: no virtual_server_group \`${h.group}\` is defined${suggest(h.group, Object.keys(groups))}`, 1);
        return null;
      }
      family = group.family;
      for (const e of group.entries) {
        if (e.kind === 'fwmark') marks.push(e.fwmark);
        else hasRanges = true;
      }
    } else {
      marks.push(h.fwmark);
    }
    // lvsd classifies fwmark packets itself: every mark needs its fwmark_rules.
    const markRules: FwmarkRule[] = [];
    for (const m of marks) {
      const e = fw.byMark.get(m);
      if (!e) {
        this.err(CODES.FWMARK_RULES, b.path, fwmarkHelp(m), h.kind === 'fwmark' ? 1 : 0);
        ok = false;
        continue;
      }
      e.used = true;
      markRules.push(...e.rules);
    }
    let protocol: L4Proto;
    if (hasRanges) {
      if (protoLeaf) protocol = protoLeaf.value as L4Proto;
      else {
        this.warn(CODES.W_ADJUSTED, b.path, 'no `protocol` set; defaulting to UDP, as keepalived 2.x does (add `protocol TCP` for TCP)', 0);
        protocol = 'udp';
      }
    } else {
      if (protoLeaf) this.warn(CODES.W_ADJUSTED, protoLeaf.path, '`protocol` is ignored for a fwmark service: its fwmark_rules say which packets it takes', 0);
      const protos = new Set(markRules.map((r) => r.protocol));
      protocol = protos.size === 1 ? [...protos][0]! : 'tcp';
    }
    const ipFamily = val<'inet' | 'inet6'>(b, 'ip_family');
    if (family === null) {
      const ruleFam = new Set(markRules.map((r) => (r.address.includes(':') ? 'ipv6' : 'ipv4') as Family));
      if (ipFamily) family = ipFamily === 'inet6' ? 'ipv6' : 'ipv4';
      else if (ruleFam.size === 1) family = [...ruleFam][0]!;
      else {
        const rs0 = items(b, 'real_server')[0]?.header as VHostPort | undefined;
        family = rs0?.family ?? 'ipv4';
      }
    }
    if (ipFamily && (ipFamily === 'inet6' ? 'ipv6' : 'ipv4') !== family) {
      this.err(CODES.CONFLICT, leafOf(b, 'ip_family')!.path, `ip_family ${ipFamily} conflicts with the ${famName(family)} addresses of this service`, 0);
      ok = false;
    }
    for (const r of markRules) {
      if ((r.address.includes(':') ? 'ipv6' : 'ipv4') !== family) {
        this.err(CODES.CONFLICT, b.path, `fwmark_rules ${r.fwmark} has ${r.address} (${famName(r.address.includes(':') ? 'ipv6' : 'ipv4')}) but this service is ${famName(family)}`, 0);
        ok = false;
        break;
      }
    }

    // Addresses this service answers for (ownership, conflicts).
    if (h.kind === 'addr') {
      addrs.exact.push(h.address);
      addrs.tuples.push({ address: h.address, port: vsPort });
    }
    if (group) {
      for (const e of group.entries) {
        if (e.kind !== 'range') continue;
        for (const a of expandRange(e.first, e.last)) {
          addrs.exact.push(a);
          addrs.tuples.push({ address: a, port: e.port });
        }
      }
    }
    for (const r of markRules) {
      if (r.prefixLen === (r.address.includes(':') ? 128 : 32)) addrs.exact.push(r.address);
      else addrs.prefixes.push({ address: r.address, prefixLen: r.prefixLen });
    }
    addrs.marks.push(...marks);

    const key = h.kind === 'addr' ? `${protocol}:${hostKey(h.address, h.family)}:${vsPort}`
      : h.kind === 'fwmark' ? `fwmark:${h.fwmark}` : `group:${protocol}:${h.group}`;

    const scheduler = val<SchedulerName>(b, 'lvs_sched') ?? 'wlc';
    const flagOn = (k: string) => val<boolean>(b, k) ?? false;
    const flags: { shFallback: boolean; shPort: boolean; mhFallback: boolean; mhPort: boolean } = { shFallback: false, shPort: false, mhFallback: false, mhPort: false };
    for (const [k, target] of [['sh-port', 'port'], ['sh-fallback', 'fallback'], ['mh-port', 'port'], ['mh-fallback', 'fallback'], ['flag-1', 'fallback'], ['flag-2', 'port'], ['flag-3', null]] as const) {
      if (!flagOn(k)) continue;
      const l = leafOf(b, k)!;
      const wants = k.startsWith('sh') ? 'sh' : k.startsWith('mh') ? 'mh' : null;
      if (target === null) {
        this.warn(CODES.W_ADJUSTED, l.path, '`flag-3` is not used by any scheduler; ignored');
        continue;
      }
      if ((wants && wants !== scheduler) || (!wants && scheduler !== 'sh' && scheduler !== 'mh')) {
        this.warn(CODES.W_ADJUSTED, l.path, `\`${k}\` only applies to the ${wants ?? 'sh and mh'} scheduler${wants ? '' : 's'} - ignoring, as keepalived does`);
        continue;
      }
      if (scheduler === 'sh') flags[target === 'port' ? 'shPort' : 'shFallback'] = true;
      else flags[target === 'port' ? 'mhPort' : 'mhFallback'] = true;
    }
    const schedulerFlags: SchedulerFlags = flags;

    const methodLeaf = leafOf<VMethod>(b, 'lvs_method');
    const vsMethod = this.methodSpec(methodLeaf);
    const method = vsMethod?.method ?? null;
    const vsTunnel = vsMethod?.tunnel;
    if (method === null) ok = false;

    let persistenceTimeoutS = val<number>(b, 'persistence_timeout') ?? 0;
    const granLeaf = leafOf<string>(b, 'persistence_granularity');
    let persistenceGranularity = family === 'ipv6' ? 128 : 32;
    if (granLeaf) {
      const gp = granularity(granLeaf.value, family);
      if (gp === null) {
        this.err(CODES.VALUE, granLeaf.path, family === 'ipv6'
          ? `persistence_granularity for IPv6 is a prefix length 1-128, not \`${granLeaf.value}\``
          : `persistence_granularity must be a contiguous IPv4 netmask (e.g. 255.255.255.0), not \`${granLeaf.value}\``, 0);
        ok = false;
      } else {
        persistenceGranularity = gp;
      }
      if (persistenceTimeoutS === 0) persistenceTimeoutS = 360; // keepalived pgr_handler: granularity implies persistence
    }
    if (persistenceTimeoutS === 0 && hasRanges) {
      const zeroPort = h.kind === 'addr' ? vsPort === 0 : (group?.entries.some((e) => e.kind === 'range' && e.port === 0) ?? false);
      if (zeroPort) {
        this.warn(CODES.W_ADJUSTED, b.path, 'port 0 (all ports) is only valid for a persistent service; persistence_timeout set to 360 s, as keepalived does', 0);
        persistenceTimeoutS = 360;
      }
    }

    let haSuspend = flagOn('ha_suspend');
    if (haSuspend && marks.length) {
      this.warn(CODES.W_ADJUSTED, leafOf(b, 'ha_suspend')!.path, 'ha_suspend cannot be used with fwmarks; cleared, as keepalived does');
      haSuspend = false;
    }
    let ops = flagOn('ops');
    if (ops && hasRanges && protocol !== 'udp') {
      this.warn(CODES.W_ADJUSTED, leafOf(b, 'ops')!.path, 'one-packet scheduling (`ops`) requires UDP; cleared, as keepalived does');
      ops = false;
    }

    // Real servers.
    const realServers: Record<string, RealServer> = {};
    const rsPaths = new Map<string, string>();
    let weightSum = 0;
    const vsTiming = this.timingOf(b);
    const vsInhibit = val<boolean>(b, 'inhibit_on_failure') ?? false;
    const vsAlpha = val<boolean>(b, 'alpha') ?? false;
    const vsVirtualhost = val<string>(b, 'virtualhost') ?? null;
    for (const rb of items(b, 'real_server')) {
      const rs = this.realServer(rb, { family, vsPort, method: method ?? 'NAT', tunnel: vsTunnel, marks: marks.length > 0, group, vsTiming, vsInhibit, vsAlpha, vsVirtualhost });
      if (!rs) {
        ok = false;
        continue;
      }
      const prev = rsPaths.get(rs.key);
      if (prev) {
        this.err(CODES.DUPLICATE, rb.path, `real_server ${rs.key} is listed twice in this virtual_server (first at ${this.where(prev)})`, 0);
        ok = false;
        continue;
      }
      rsPaths.set(rs.key, rb.path);
      realServers[rs.key] = rs;
      weightSum += rs.weight;
    }
    if (countGiven(b, 'real_server') === 0) {
      this.err(CODES.MISSING, b.path, `virtual_server ${describeMatch(h.kind === 'addr' ? { kind: 'addr', address: h.address, port: vsPort } : h.kind === 'fwmark' ? { kind: 'fwmark', fwmark: h.fwmark } : { kind: 'group', group: h.group }, protocol)} has no real_server`, 0);
      ok = false;
    }

    const quorumLeaf = leafOf<number>(b, 'quorum');
    let quorum = quorumLeaf?.value ?? 1;
    if (ok && quorum > weightSum && Object.keys(realServers).length > 0) {
      this.warn(CODES.W_ADJUSTED, quorumLeaf?.path ?? b.path,
        `quorum ${quorum} exceeds the total weight of the real servers (${weightSum}); reduced to ${weightSum}, as keepalived does`, quorumLeaf ? 0 : undefined);
      quorum = weightSum;
    }
    const hysLeaf = leafOf<number>(b, 'hysteresis');
    let hysteresis = hysLeaf?.value ?? 0;
    if (hysLeaf && hysteresis >= quorum && hysteresis > 0) {
      const to = Math.max(0, quorum - 1);
      this.warn(CODES.W_ADJUSTED, hysLeaf.path, `hysteresis ${hysteresis} >= quorum ${quorum}; set to ${to}, as keepalived does`, 0);
      hysteresis = to;
    }

    // Sorry server.
    let sorryServer: SorryServer | null = null;
    const ssLeaf = leafOf<VHostPort>(b, 'sorry_server');
    if (ssLeaf) {
      const ss = ssLeaf.value;
      const ssLeafM = leafOf<VMethod>(b, 'sorry_server_lvs_method');
      const ssSpec = ssLeafM ? this.methodSpec(ssLeafM) : null;
      const ssMethod = ssSpec?.method ?? method ?? 'NAT';
      const ssTunnel = ssLeafM ? ssSpec?.tunnel : vsTunnel;
      // keepalived vs_end_handler: a tunnelled sorry server may be of the other family.
      if (ss.family !== family && ssMethod !== 'TUN') {
        this.err(CODES.CONFLICT, ssLeaf.path, `sorry_server ${ss.address} is ${famName(ss.family)} but the virtual server is ${famName(family)}`, 0);
        ok = false;
      } else {
        const port = this.serverPort(ssLeaf.path, 'sorry_server', ss.port, ssMethod, vsPort, marks.length > 0);
        sorryServer = { address: ss.address, port, method: ssMethod, ...(ssMethod === 'TUN' && ssTunnel ? { tunnel: ssTunnel } : {}), inhibit: flagOn('sorry_server_inhibit') };
      }
    } else if (leafOf(b, 'sorry_server_inhibit') || leafOf(b, 'sorry_server_lvs_method')) {
      this.warn(CODES.W_ADJUSTED, (leafOf(b, 'sorry_server_inhibit') ?? leafOf(b, 'sorry_server_lvs_method'))!.path, 'no `sorry_server` is set; ignored');
    }

    // FULLNAT: the local addresses (keepalived-dpvs laddr_group_name → local_address_group).
    const fnat = method === 'FNAT' || Object.values(realServers).some((r) => r.method === 'FNAT') || sorryServer?.method === 'FNAT';
    const lgLeaf = leafOf<string>(b, 'laddr_group_name');
    let localAddressGroup: string | null = null;
    let localAddresses: string[] = [];
    if (fnat) {
      if (!lgLeaf) {
        this.err(CODES.MISSING, methodLeaf?.path ?? b.path,
          'FNAT needs `laddr_group_name NAME` in this virtual_server, naming a `local_address_group` (the addresses the real servers see as the source and answer to)',
          methodLeaf ? 0 : undefined);
        ok = false;
      } else {
        const grp = laddrs[lgLeaf.value];
        if (!grp) {
          this.err(CODES.REFERENCE, lgLeaf.path, `no local_address_group \`${lgLeaf.value}\` is defined${suggest(lgLeaf.value, Object.keys(laddrs))}`, 0);
          ok = false;
        } else {
          const mine = grp.addresses.filter((a) => a.family === family);
          if (mine.length === 0) {
            this.err(CODES.CONFLICT, lgLeaf.path, `local_address_group \`${grp.name}\` has no ${famName(family)} address for this ${famName(family)} virtual_server`, 0);
            ok = false;
          }
          localAddressGroup = grp.name;
          localAddresses = mine.map((a) => a.address);
          addrs.locals.push(...mine.map((a) => ({ address: a.address, ifname: a.ifname, path: a.path })));
        }
      }
    } else if (lgLeaf) {
      this.warn(CODES.W_ADJUSTED, lgLeaf.path, '`laddr_group_name` is only used by FNAT real servers; ignored', 0);
    }

    if (!ok || method === null) return null;
    const match = h.kind === 'addr' ? { kind: 'addr' as const, address: h.address, port: vsPort }
      : h.kind === 'fwmark' ? { kind: 'fwmark' as const, fwmark: h.fwmark } : { kind: 'group' as const, group: h.group };
    return {
      vs: {
        key, match, protocol, family, scheduler, schedulerFlags, method, persistenceTimeoutS, persistenceGranularity,
        quorum, hysteresis,
        quorumUp: this.scriptOf(b, 'quorum_up'),
        quorumDown: this.scriptOf(b, 'quorum_down'),
        sorryServer,
        omega: flagOn('omega'),
        haSuspend, ops,
        virtualhost: vsVirtualhost,
        realServers,
        ...(fnat ? { localAddressGroup, localAddresses } : {}),
      },
      addrs,
    };
  }

  /** A method line: the method and (TUN) its encapsulation; null when it cannot be used. */
  methodSpec(l: VLeaf<VMethod> | undefined): { method: ForwardMethod; tunnel?: TunnelOptions } | null {
    if (!l) return { method: 'NAT' };
    const m = l.value.method;
    if (m === 'TUN') return { method: 'TUN', tunnel: l.value.tunnel ?? { type: 'ipip', port: 0, csum: 'nocsum' } };
    return { method: m };
  }

  /** Real/sorry server port rules of keepalived check_data.c validate_check_config. */
  serverPort(path: string, what: string, given: number | null, method: ForwardMethod, vsPort: number, fwmark: boolean): number {
    // keepalived treats port 0 as "not given" (inet_sockaddrport() == 0).
    const port = given === 0 ? null : given;
    // NAT and FULLNAT rewrite the destination port too (port mapping).
    if (method === 'NAT' || method === 'FNAT') return port ?? (fwmark ? 0 : vsPort);
    if (fwmark) {
      if (port !== null && port !== 0) {
        this.warn(CODES.W_ADJUSTED, path, `a ${method} ${what} of a fwmark service keeps the packet's port; port ${port} cleared, as keepalived does`, 1);
      }
      return 0;
    }
    if (port !== null && port !== vsPort && vsPort !== 0) {
      this.warn(CODES.W_ADJUSTED, path, `${method} cannot change ports: ${what} port ${port} reset to the virtual server port ${vsPort}, as keepalived does`, 1);
      return vsPort;
    }
    return port ?? vsPort;
  }

  timingOf(b: VBlock): Partial<Record<keyof CheckTiming, number>> {
    return {
      delayLoopMs: val<number>(b, 'delay_loop'),
      connectTimeoutMs: val<number>(b, 'connect_timeout'),
      retry: val<number>(b, 'retry'),
      delayBeforeRetryMs: val<number>(b, 'delay_before_retry'),
      warmupMs: val<number>(b, 'warmup'),
      rise: val<number>(b, 'rise'),
      fall: val<number>(b, 'fall'),
    };
  }

  realServer(rb: VBlock, vs: {
    family: Family; vsPort: number; method: ForwardMethod; tunnel: TunnelOptions | undefined; marks: boolean; group: ReturnType<Compiler['vsGroups']>[string] | undefined;
    vsTiming: Partial<Record<keyof CheckTiming, number>>; vsInhibit: boolean; vsAlpha: boolean; vsVirtualhost: string | null;
  }): RealServer | null {
    const h = rb.header as VHostPort;
    const mLeaf = leafOf<VMethod>(rb, 'lvs_method');
    let m: ForwardMethod = vs.method;
    let tunnel = vs.tunnel;
    if (mLeaf) {
      const r = this.methodSpec(mLeaf);
      if (r === null) return null;
      m = r.method;
      tunnel = r.tunnel;
    }
    // keepalived rs_end_handler: for tunnelled forwarding the families need not match (IPVS
    // encapsulates in the real server's family: ip_vs_tunnel_xmit / _v6 with cp->af the service's).
    if (h.family !== vs.family && m !== 'TUN') {
      this.err(CODES.CONFLICT, rb.path, `real_server ${h.address} is ${famName(h.family)} but the virtual server is ${famName(vs.family)} (NAT and DR need one family; TUN may mix them)`, 0);
      return null;
    }
    const port = this.serverPort(rb.path, 'real server', h.port, m, vs.vsPort, vs.marks);
    if (vs.group && m !== 'NAT' && m !== 'FNAT' && h.port !== null && h.port !== 0) {
      for (const e of vs.group.entries) {
        if (e.kind === 'range' && e.port !== 0 && e.port !== h.port) {
          this.warn(CODES.W_ADJUSTED, rb.path, `virtual_server_group \`${vs.group.name}\` entry ${e.first}${e.first === e.last ? '' : '-' + e.last}:${e.port} and ${m} real server port ${h.port} don't match (keepalived warns the same)`, 1);
          break;
        }
      }
    }
    const key = `${hostKey(h.address, h.family)}:${port}`;
    const weight = val<number>(rb, 'weight') ?? 1;
    const rsTiming = this.timingOf(rb);
    const inhibitOnFailure = val<boolean>(rb, 'inhibit_on_failure') ?? vs.vsInhibit;
    const alpha = val<boolean>(rb, 'alpha') ?? vs.vsAlpha;
    const virtualhost = val<string>(rb, 'virtualhost') ?? vs.vsVirtualhost;
    const uthreshold = val<number>(rb, 'uthreshold') ?? 0;
    const lthreshold = val<number>(rb, 'lthreshold') ?? 0;
    if (uthreshold > 0 && lthreshold > uthreshold) {
      this.warn(CODES.W_ADJUSTED, leafOf(rb, 'lthreshold')!.path, `lthreshold ${lthreshold} is above uthreshold ${uthreshold}`, 0);
    }
    const built: Array<{ c: Checker; at: SourcePos | null }> = [];
    let ok = true;
    const kinds = [['HTTP_GET', 'http'], ['SSL_GET', 'ssl'], ['TCP_CHECK', 'tcp'], ['MISC_CHECK', 'misc']] as const;
    for (const [kw, kind] of kinds) {
      items(rb, kw).forEach((cb, index) => {
        const c = this.checker(cb, kind, index, { address: h.address, family: h.family, port, vsTiming: vs.vsTiming, rsTiming, alpha, virtualhost });
        if (c) built.push({ c, at: this.pos(cb.path) });
        else ok = false;
      });
    }
    if (!ok) return null;
    // Checkers in the order written (keys number them per kind, so reordering kinds keeps keys).
    const checkers = built.sort((a, b) => comparePos(a.at, b.at)).map((x) => x.c);
    return {
      key, address: h.address, family: h.family, port, weight, method: m, ...(m === 'TUN' && tunnel ? { tunnel } : {}), inhibitOnFailure,
      notifyUp: this.scriptOf(rb, 'notify_up'),
      notifyDown: this.scriptOf(rb, 'notify_down'),
      upperThreshold: uthreshold, lowerThreshold: lthreshold, alpha, checkers,
    };
  }

  checker(cb: VBlock, kind: 'http' | 'ssl' | 'tcp' | 'misc', index: number, rs: {
    address: string; family: Family; port: number; vsTiming: Partial<Record<keyof CheckTiming, number>>;
    rsTiming: Partial<Record<keyof CheckTiming, number>>; alpha: boolean; virtualhost: string | null;
  }): Checker | null {
    const own = this.timingOf(cb);
    const pick = (k: keyof CheckTiming) => own[k] ?? rs.rsTiming[k] ?? rs.vsTiming[k];
    // keepalived check_api.c / check_data.c defaults.
    const delayLoopMs = pick('delayLoopMs') ?? 60000;
    const timing: CheckTiming = {
      delayLoopMs,
      connectTimeoutMs: pick('connectTimeoutMs') ?? 5000,
      retry: pick('retry') ?? (kind === 'misc' ? 0 : 1),
      delayBeforeRetryMs: pick('delayBeforeRetryMs') ?? (kind === 'http' || kind === 'ssl' ? 3000 : 1000),
      warmupMs: pick('warmupMs') ?? delayLoopMs,
      rise: pick('rise') ?? 1,
      fall: pick('fall') ?? 1,
    };
    const connect = val<{ address: string; family: Family }>(cb, 'connect_ip');
    const bind = val<{ address: string; family: Family }>(cb, 'bindto');
    if (connect && bind && connect.family !== bind.family) {
      this.err(CODES.CONFLICT, leafOf(cb, 'bindto')!.path, `bindto ${bind.address} and connect_ip ${connect.address} are of different address families`, 0);
      return null;
    }
    if (!connect && bind && bind.family !== rs.family) {
      this.err(CODES.CONFLICT, leafOf(cb, 'bindto')!.path, `bindto ${bind.address} is ${famName(bind.family)} but the real server is ${famName(rs.family)}`, 0);
      return null;
    }
    const connectIp = connect?.address ?? rs.address;
    const connectPort = val<number>(cb, 'connect_port') ?? rs.port;
    const cFamily = connect?.family ?? rs.family;
    const key = `${kind}:${hostKey(connectIp, cFamily)}:${connectPort}#${index}`;
    const base = {
      key, timing, connectIp, connectPort,
      bindTo: bind?.address ?? null,
      bindPort: val<number>(cb, 'bind_port') ?? null,
      bindIf: val<string>(cb, 'bind_if') ?? null,
      alpha: val<boolean>(cb, 'alpha') ?? rs.alpha,
    };
    if (kind === 'misc') {
      const path = val<ScriptCommand>(cb, 'misc_path');
      if (!path) {
        if (!given(cb, 'misc_path')) this.err(CODES.MISSING, cb.path, 'MISC_CHECK has no `misc_path`');
        return null;
      }
      const t = val<number>(cb, 'misc_timeout');
      const user = val<ScriptUser>(cb, 'user') ?? null;
      const cmd: ScriptCommand = { ...path, user };
      this.scriptPaths.set(cmd, leafOf(cb, 'misc_path')!.path);
      return { ...base, kind: 'misc', path: cmd, timeoutMs: t !== undefined ? t * 1000 : delayLoopMs, dynamic: val<boolean>(cb, 'misc_dynamic') ?? false, user };
    }
    if (connectPort === 0) {
      this.err(CODES.MISSING, cb.path, `${kind === 'tcp' ? 'TCP_CHECK' : kind === 'http' ? 'HTTP_GET' : 'SSL_GET'} needs \`connect_port\`: the real server has no port (a fwmark service keeps the packet's port)`);
      return null;
    }
    if (kind === 'tcp') return { ...base, kind: 'tcp' };
    const urls: HttpUrl[] = [];
    let ok = true;
    for (const ub of items(cb, 'url')) {
      const path = val<string>(ub, 'path');
      if (path === undefined) {
        if (!given(ub, 'path')) this.err(CODES.MISSING, ub.path, 'url has no `path`');
        ok = false;
        continue;
      }
      urls.push({
        path,
        statusCodes: val<Array<{ min: number; max: number }>>(ub, 'status_code') ?? [{ min: 200, max: 299 }],
        digest: val<string>(ub, 'digest') ?? null,
        virtualhost: val<string>(ub, 'virtualhost') ?? null,
      });
    }
    if (!ok) return null;
    if (urls.length === 0) {
      if (countGiven(cb, 'url') > 0) return null;
      this.err(CODES.MISSING, cb.path, `${kind === 'http' ? 'HTTP_GET' : 'SSL_GET'} needs at least one \`url { path ... }\` (keepalived ignores such a checker)`);
      return null;
    }
    const sniLeaf = leafOf<boolean>(cb, 'enable_sni');
    if (sniLeaf?.value && kind === 'http') this.warn(CODES.W_ADJUSTED, sniLeaf.path, '`enable_sni` only matters for SSL_GET; ignored for HTTP_GET');
    return {
      ...base, kind, urls,
      virtualhost: val<string>(cb, 'virtualhost') ?? rs.virtualhost,
      sni: kind === 'ssl' && (sniLeaf?.value ?? false),
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      httpVersion: val<'1.0' | '1.1'>(cb, 'http_protocol') ?? '1.0',
    };
  }
}

/** Addresses a virtual server answers for. */
export interface VsAddresses {
  /** (address, port) pairs of address and group-range entries. */
  readonly tuples: Array<{ address: string; port: number }>;
  /** Addresses the service needs (its address, group range addresses, /32 (/128) fwmark rules). */
  readonly exact: string[];
  /** fwmark rule prefixes wider than one address. */
  readonly prefixes: Array<{ address: string; prefixLen: number }>;
  readonly marks: number[];
  /** FULLNAT local addresses of the service (its `laddr_group_name` group's, of its family), with the line's interface. */
  locals: Array<{ address: string; ifname: string | null; path: string }>;
}

function comparePos(a: SourcePos | null, b: SourcePos | null): number {
  if (!a || !b) return 0;
  if (a.file !== b.file) return 0;
  return a.line - b.line || a.col - b.col;
}

function famName(f: Family): string {
  return f === 'ipv4' ? 'IPv4' : 'IPv6';
}

function suggest(name: string, candidates: Iterable<string>): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = lev(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean \`${best}\`?)` : '';
}

function lev(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function describeMatch(m: VirtualServer['match'], proto: L4Proto): string {
  if (m.kind === 'addr') return `${m.address} ${m.port} (${proto})`;
  if (m.kind === 'fwmark') return `fwmark ${m.fwmark}`;
  return `group ${m.group} (${proto})`;
}

/** The error text for `virtual_server fwmark N` without `fwmark_rules N`. */
export function fwmarkHelp(mark: number): string {
  return `fwmark ${mark} has no \`fwmark_rules ${mark} { }\`. lvsd forwards in userspace and sees packets before netfilter, `
    + `so it cannot see marks set by iptables/nftables: it classifies packets itself. Add, at the top level: `
    + `\`fwmark_rules ${mark} { 198.18.0.10 tcp 80 ; 198.18.0.10 tcp 443 }\` `
    + '(one rule per line: ADDRESS[/PREFIX] tcp|udp PORT|LOW-HIGH|0, 0 = any port)';
}

/** persistence_granularity → prefix length (IPv4 netmask, IPv6 prefix length); null when invalid. */
function granularity(s: string, family: Family): number | null {
  if (family === 'ipv6') {
    if (!/^\d+$/.test(s)) return null;
    const n = Number(s);
    return n >= 1 && n <= 128 ? n : null;
  }
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  const v = parts.reduce((acc, p) => acc * 256 + Number(p), 0) >>> 0;
  let n = 0;
  while (n < 32 && ((v >>> (31 - n)) & 1) === 1) n++;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return mask === v && n > 0 ? n : null;
}

/** Every address from first to last (same family; callers bound the size: ≤ 65536). */
export function expandRange(first: string, last: string): string[] {
  if (first === last) return [first];
  if (!first.includes(':')) {
    const a = first.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
    const b = last.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
    const out: string[] = [];
    for (let v = a; v <= b; v++) out.push(`${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`);
    return out;
  }
  const toBig = (s: string): bigint => {
    const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, ''];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  };
  const fmt = (v: bigint): string => {
    const g: string[] = [];
    for (let i = 7; i >= 0; i--) g.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
    // compress the longest zero run (RFC 5952)
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < 8;) {
      if (g[i] !== '0') { i++; continue; }
      let j = i;
      while (j < 8 && g[j] === '0') j++;
      if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
      i = j;
    }
    if (best < 0) return g.join(':');
    return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
  };
  const out: string[] = [];
  for (let v = toBig(first); v <= toBig(last); v++) out.push(fmt(v));
  return out;
}

/**
 * Compiles a validated tree. Diagnostics from here on carry the same codes as the parser's;
 * the model is null when any error was found (a bad config never half-applies, D10).
 */
export function compile(root: VBlock, src: SourceMapLike, opts: CompileOptions): CompileResult {
  const c = new Compiler(src, opts);
  const global = c.global(root);
  const vrrpScripts = c.scripts(root);
  const vrrpTrackFiles = c.trackFiles(root);
  const instanceBlocks = items(root, 'vrrp_instance');
  const instanceNames = new Set(instanceBlocks.map((b) => b.key!));
  const { groups: syncGroups, memberOf } = c.syncGroups(root, vrrpScripts, vrrpTrackFiles, instanceNames);
  const built: Array<{ inst: VrrpInstance; b: VBlock }> = [];
  for (const b of instanceBlocks) {
    const inst = c.instance(b, global, vrrpScripts, vrrpTrackFiles, memberOf, syncGroups);
    if (inst) built.push({ inst, b });
  }
  c.checkInstances(built);
  const syncd = c.syncDaemon(root, built, instanceNames);
  const globalDefs: GlobalDefs = syncd ? { ...global, lvsSyncDaemon: syncd } : global;
  const vsGroups = c.vsGroups(root);
  const fw = c.fwmarkRules(root);
  const laddrs = c.laddrGroups(root);
  const services = c.virtualServers(root, global, vsGroups, fw, laddrs);
  c.checkLocalAddresses(services, laddrs);

  // With errors already found, instances or services may be missing from the tree, so
  // ownership findings could be wrong: report what was found and stop here.
  if (c.d.errorCount > 0) return { model: null, diagnostics: c.d.list, scriptPaths: c.scriptPaths };
  const localAddrs = new Set(services.flatMap((s) => s.addrs.locals.map((l) => l.address)));
  const own = resolveOwnership({
    global,
    localAddresses: localAddrs,
    instances: built.map((x) => x.inst),
    services: services.map((s) => ({ vs: s.vs, path: s.b.path, addrs: s.addrs })),
    error: (code, path, msg) => c.err(code, path, msg, 0),
    warn: (code, path, msg) => c.warn(code, path, msg, 0),
  });

  if (c.d.errorCount > 0) return { model: null, diagnostics: c.d.list, scriptPaths: c.scriptPaths };
  const instances: Record<string, VrrpInstance> = {};
  for (const inst of own.instances) instances[inst.name] = inst;
  const virtualServers: Record<string, VirtualServer> = {};
  for (const vs of own.services) virtualServers[vs.key] = vs;
  // FULLNAT local addresses the VRRP instances do not hold: core-owned on their line's
  // interface (else the service's), claimed at start like lvs_interface VIPs: each director
  // has its own (keepalived-dpvs: "local address is not the same" on the backup).
  const coreVips: Record<string, CoreVip> = { ...own.coreVips };
  for (const s of services) {
    const vs = virtualServers[s.vs.key];
    if (!vs) continue;
    for (const l of s.addrs.locals) {
      if (!coreVips[l.address]) {
        coreVips[l.address] = { address: l.address, family: l.address.includes(':') ? 'ipv6' : 'ipv4', interface: l.ifname ?? vs.interface, instance: null, reason: 'fnat_local' };
      }
    }
  }
  const virtualServerGroups: Record<string, VirtualServerGroup> = {};
  for (const g of Object.values(vsGroups)) virtualServerGroups[g.name] = { name: g.name, entries: g.entries };
  const model: Model = {
    global: globalDefs, vrrpScripts, vrrpTrackFiles, syncGroups, instances, virtualServerGroups,
    fwmarkRules: fw.rules, virtualServers, coreVips,
  };
  return { model: deepFreeze(model), diagnostics: c.d.list, scriptPaths: c.scriptPaths };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}
