/**
 * Hand-built models for forwarding tests (the config compiler is someone else's): a
 * complete Model with defaults, virtual servers and core VIPs given tersely.
 */
import type {
  CoreVip, FwmarkRule, Model, RealServer, ServiceMatch, VirtualServer, VirtualServerGroup, ForwardMethod, SchedulerName, TunnelOptions,
} from '../../../../src/model/types.js';
import { ipFamily } from '../../../../src/lib/ip.js';

export interface RsSpec {
  address: string;
  port: number;
  weight?: number;
  method?: ForwardMethod;
  inhibitOnFailure?: boolean;
  upper?: number;
  lower?: number;
  alpha?: boolean;
  /** TUN encapsulation (default IP-in-IP). */
  tunnel?: TunnelOptions;
}

export interface VsSpec {
  match: ServiceMatch;
  protocol?: 'tcp' | 'udp';
  family?: 'ipv4' | 'ipv6';
  scheduler?: SchedulerName;
  method?: ForwardMethod;
  persistenceTimeoutS?: number;
  persistenceGranularity?: number;
  ops?: boolean;
  sorry?: { address: string; port: number; method?: ForwardMethod; inhibit?: boolean; tunnel?: TunnelOptions };
  schedulerFlags?: Partial<{ shFallback: boolean; shPort: boolean; mhFallback: boolean; mhPort: boolean }>;
  ownerInstance?: string | null;
  interface?: string;
  reals: RsSpec[];
}

function rsKey(a: string, port: number): string {
  return ipFamily(a) === 'ipv6' ? `[${a}]:${port}` : `${a}:${port}`;
}

/** The model key of a virtual server spec. */
export function vsKey(v: VsSpec): string {
  const proto = v.protocol ?? 'tcp';
  const m = v.match;
  if (m.kind === 'addr') return `${proto}:${rsKey(m.address, m.port)}`;
  if (m.kind === 'fwmark') return `fwmark:${m.fwmark}`;
  return `group:${proto}:${m.group}`;
}

export function realServer(r: RsSpec, method: ForwardMethod): RealServer {
  return {
    key: rsKey(r.address, r.port), address: r.address, family: ipFamily(r.address) ?? 'ipv4', port: r.port, weight: r.weight ?? 1,
    method: r.method ?? method, ...(r.tunnel ? { tunnel: r.tunnel } : {}), inhibitOnFailure: r.inhibitOnFailure ?? false, notifyUp: null, notifyDown: null,
    upperThreshold: r.upper ?? 0, lowerThreshold: r.lower ?? 0, alpha: r.alpha ?? false, checkers: [],
  };
}

export function virtualServer(v: VsSpec): VirtualServer {
  const method = v.method ?? 'NAT';
  const family = v.family ?? (v.match.kind === 'addr' ? ipFamily(v.match.address) ?? 'ipv4' : 'ipv4');
  return {
    key: vsKey(v), match: v.match, protocol: v.protocol ?? 'tcp', family, scheduler: v.scheduler ?? 'rr',
    schedulerFlags: { shFallback: false, shPort: false, mhFallback: false, mhPort: false, ...v.schedulerFlags }, method,
    persistenceTimeoutS: v.persistenceTimeoutS ?? 0, persistenceGranularity: v.persistenceGranularity ?? (family === 'ipv4' ? 32 : 128),
    quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
    sorryServer: v.sorry ? { address: v.sorry.address, port: v.sorry.port, method: v.sorry.method ?? method, ...(v.sorry.tunnel ? { tunnel: v.sorry.tunnel } : {}), inhibit: v.sorry.inhibit ?? false } : null,
    omega: false, haSuspend: false, ops: v.ops ?? false, virtualhost: null, ownerInstance: v.ownerInstance ?? null,
    interface: v.interface ?? 'eth0',
    realServers: Object.fromEntries(v.reals.map((r) => [rsKey(r.address, r.port), realServer(r, method)])),
  };
}

export interface ModelSpec {
  services: VsSpec[];
  coreVips?: { address: string; interface: string; instance?: string | null }[];
  fwmarkRules?: FwmarkRule[];
  groups?: VirtualServerGroup[];
  timeouts?: { tcpS: number; tcpFinS: number; udpS: number };
}

export function makeModel(s: ModelSpec): Model {
  const vss = s.services.map(virtualServer);
  const coreVips: Record<string, CoreVip> = {};
  for (const v of s.coreVips ?? []) {
    coreVips[v.address] = { address: v.address, family: ipFamily(v.address) ?? 'ipv4', interface: v.interface, instance: v.instance ?? null, reason: 'virtual_server' };
  }
  return {
    global: {
      routerId: 'test', scriptUser: null, enableScriptSecurity: false,
      garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 0, lowerPrioRepeat: 0, intervalMs: 0, gnaIntervalMs: 0 },
      vrrpSkipCheckAdvAddr: false, vrrpStrict: false, vrrpVersion: 2, vrrpCheckUnicastSrc: false, vrrpMcastGroup4: '224.0.0.18', vrrpMcastGroup6: 'ff02::12',
      notifyFifo: null, vrrpNotifyFifo: null, lvsNotifyFifo: null, notificationEmail: [], notificationEmailFrom: null, smtpServer: null,
      lvsTimeouts: s.timeouts ?? { tcpS: 0, tcpFinS: 0, udpS: 0 },
      controlSocket: null, metricsListen: null, forwardingWorkers: 1, connTableSize: 1 << 16, lvsInterface: null, lvsSyncDaemon: null,
    },
    vrrpScripts: {}, vrrpTrackFiles: {}, syncGroups: {}, instances: {},
    virtualServerGroups: Object.fromEntries((s.groups ?? []).map((g) => [g.name, g])),
    fwmarkRules: s.fwmarkRules ?? [],
    virtualServers: Object.fromEntries(vss.map((v) => [v.key, v])),
    coreVips,
  };
}
