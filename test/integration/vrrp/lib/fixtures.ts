/**
 * Hand-made models for VRRP tests (the config compiler is another engineer's; these follow
 * src/model/types.ts field by field with keepalived's defaults).
 */
import type { GarpSettings, GlobalDefs, Model, NotifyScripts, ScriptCommand, Vip, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile } from '../../../../src/model/types.js';
import { ipFamily } from '../../../../src/lib/ip.js';

/** keepalived's GARP defaults (man keepalived.conf: vrrp_garp_master_delay 5, _repeat 5, refresh 0). */
export const GARP_DEFAULTS: GarpSettings = {
  masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1,
  lowerPrioDelayMs: 5000, lowerPrioRepeat: 5, intervalMs: 0, gnaIntervalMs: 0,
};

export const NO_NOTIFY: NotifyScripts = { master: null, backup: null, fault: null, stop: null, generic: null, masterRxLowerPri: null };

export function cmd(line: string): ScriptCommand {
  return { line, argv: line.split(/\s+/).filter(Boolean) };
}

export function globalDefs(over: Partial<GlobalDefs> = {}): GlobalDefs {
  return {
    routerId: 'test', scriptUser: null, enableScriptSecurity: false, garp: GARP_DEFAULTS, vrrpSkipCheckAdvAddr: false,
    vrrpStrict: false, vrrpVersion: 2, vrrpCheckUnicastSrc: false, vrrpMcastGroup4: '224.0.0.18', vrrpMcastGroup6: 'ff02::12',
    notifyFifo: null, vrrpNotifyFifo: null, lvsNotifyFifo: null, notificationEmail: [], notificationEmailFrom: null, smtpServer: null,
    lvsTimeouts: { tcpS: 900, tcpFinS: 120, udpS: 300 }, controlSocket: null, metricsListen: null, forwardingWorkers: 1,
    connTableSize: 65536, lvsInterface: null, lvsSyncDaemon: null, ...over,
  };
}

/** A VIP: `198.18.0.100/24` (kernel-owned unless `owner` says otherwise). */
export function vip(cidr: string, dev = 'eth0', over: Partial<Vip> = {}): Vip {
  const [address, len] = cidr.split('/');
  const family = ipFamily(address!)!;
  return {
    address: address!, family, prefixLen: Number(len ?? (family === 'ipv4' ? 32 : 128)), dev, label: null, brd: null, scope: null,
    noTrack: false, owner: 'kernel', ownerReason: 'local_service', ...over,
  };
}

export function instance(name: string, over: Partial<VrrpInstance> = {}): VrrpInstance {
  return {
    name, initialState: 'BACKUP', interface: 'eth0', vrid: 51, priority: 100, advertIntervalMs: 1000, version: 2, family: 'ipv4',
    preempt: true, preemptDelayMs: 0, auth: null, unicastSrcIp: null, unicastPeers: [], mcastSrcIp: null,
    vips: [vip('198.18.0.100/24')], excludedVips: [], trackInterfaces: [], trackScripts: [], trackFiles: [], notify: NO_NOTIFY,
    garp: GARP_DEFAULTS, useVmac: null, dontTrackPrimary: false, skipCheckAdvAddr: false, strictMode: false, v3ChecksumAsV2: false, unicastChecksum: 'auto', lowerPrioNoAdvert: false, higherPrioSendAdvert: false,
    checkUnicastSrc: false, syncGroup: null, ...over,
  };
}

export function script(name: string, line: string, over: Partial<VrrpScript> = {}): VrrpScript {
  return { name, script: cmd(line), intervalMs: 1000, timeoutMs: 1000, weight: 0, weightReverse: false, rise: 1, fall: 1, user: null, initFail: false, ...over };
}

export function trackFile(name: string, file: string, over: Partial<VrrpTrackFile> = {}): VrrpTrackFile {
  return { name, file, weight: 1, weightReverse: false, initValue: null, initOverwrite: false, ...over };
}

export function syncGroup(name: string, members: string[], over: Partial<VrrpSyncGroup> = {}): VrrpSyncGroup {
  return { name, members, notify: NO_NOTIFY, trackScripts: [], trackInterfaces: [], trackFiles: [], globalTracking: false, ...over };
}

export function model(parts: {
  instances: VrrpInstance[];
  syncGroups?: VrrpSyncGroup[];
  scripts?: VrrpScript[];
  files?: VrrpTrackFile[];
  global?: Partial<GlobalDefs>;
}): Model {
  const rec = <T extends { name: string }>(xs: T[] = []) => Object.fromEntries(xs.map((x) => [x.name, x]));
  return {
    global: globalDefs(parts.global),
    vrrpScripts: rec(parts.scripts),
    vrrpTrackFiles: rec(parts.files),
    syncGroups: rec(parts.syncGroups),
    instances: rec(parts.instances),
    virtualServerGroups: {},
    fwmarkRules: [],
    virtualServers: {},
    coreVips: {},
  };
}
