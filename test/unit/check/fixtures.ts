/**
 * Hand-built model pieces for check tests (the config compiler is not needed: these are
 * the resolved values compile() would produce).
 */
import type {
  CheckTiming,
  GlobalDefs,
  HttpChecker,
  HttpUrl,
  MiscChecker,
  Model,
  RealServer,
  TcpChecker,
  VirtualServer,
} from '../../../src/model/types.js';
import { splitCommandLine } from '../../../src/lib/argv.js';

/** keepalived's defaults scaled down unless overridden. */
export function timing(o: Partial<CheckTiming> = {}): CheckTiming {
  return { delayLoopMs: 1000, connectTimeoutMs: 500, retry: 0, delayBeforeRetryMs: 200, warmupMs: 0, rise: 1, fall: 1, ...o };
}

const base = (kind: string, ip: string, port: number, t: CheckTiming, idx = 0) => ({
  key: `${kind}:${ip}:${port}#${idx}`,
  timing: t,
  connectIp: ip,
  connectPort: port,
  bindTo: null,
  bindPort: null,
  bindIf: null,
});

export function tcpChecker(ip: string, port: number, t: Partial<CheckTiming> = {}, o: Partial<TcpChecker> = {}): TcpChecker {
  return { ...base('tcp', ip, port, timing(t)), kind: 'tcp', ...o };
}

export function url(path: string, o: Partial<HttpUrl> = {}): HttpUrl {
  return { path, statusCodes: [{ min: 200, max: 299 }], digest: null, virtualhost: null, ...o };
}

export function httpChecker(ip: string, port: number, urls: HttpUrl[], t: Partial<CheckTiming> = {}, o: Partial<HttpChecker> = {}): HttpChecker {
  return {
    ...base(o.kind ?? 'http', ip, port, timing(t)),
    kind: 'http',
    urls,
    virtualhost: null,
    sni: false,
    maxBodyBytes: 1 << 20,
    httpVersion: '1.0',
    ...o,
  };
}

export function cmd(line: string) {
  return { line, argv: splitCommandLine(line) };
}

export function miscChecker(ip: string, port: number, line: string, t: Partial<CheckTiming> = {}, o: Partial<MiscChecker> = {}): MiscChecker {
  const tt = timing(t);
  return { ...base('misc', ip, port, tt), kind: 'misc', path: cmd(line), timeoutMs: tt.delayLoopMs, dynamic: false, user: null, ...o };
}

export function realServer(ip: string, port: number, checkers: RealServer['checkers'], o: Partial<RealServer> = {}): RealServer {
  return {
    key: `${ip}:${port}`,
    address: ip,
    family: 'ipv4',
    port,
    weight: 1,
    method: 'NAT',
    inhibitOnFailure: false,
    notifyUp: null,
    notifyDown: null,
    upperThreshold: 0,
    lowerThreshold: 0,
    alpha: false,
    checkers,
    ...o,
  };
}

export function virtualServer(address: string, port: number, reals: RealServer[], o: Partial<VirtualServer> = {}): VirtualServer {
  return {
    key: `tcp:${address}:${port}`,
    match: { kind: 'addr', address, port },
    protocol: 'tcp',
    family: 'ipv4',
    scheduler: 'wrr',
    schedulerFlags: { shFallback: false, shPort: false, mhFallback: false, mhPort: false },
    method: 'NAT',
    persistenceTimeoutS: 0,
    persistenceGranularity: 32,
    quorum: 1,
    hysteresis: 0,
    quorumUp: null,
    quorumDown: null,
    sorryServer: null,
    omega: false,
    haSuspend: false,
    ops: false,
    virtualhost: null,
    ownerInstance: null,
    interface: 'eth0',
    realServers: Object.fromEntries(reals.map((r) => [r.key, r])),
    ...o,
  };
}

/** A model holding only virtual servers (the check subsystem reads nothing else). */
export function model(vss: VirtualServer[]): Model {
  return {
    global: {} as GlobalDefs,
    vrrpScripts: {},
    vrrpTrackFiles: {},
    syncGroups: {},
    instances: {},
    virtualServerGroups: {},
    fwmarkRules: [],
    virtualServers: Object.fromEntries(vss.map((v) => [v.key, v])),
    coreVips: {},
  };
}

/** An empty change set (the subsystem reconciles by key itself). */
export const noChanges = {
  global: false,
  vrrpScripts: { added: [], removed: [], changed: [] },
  vrrpTrackFiles: { added: [], removed: [], changed: [] },
  syncGroups: { added: [], removed: [], changed: [] },
  instances: { added: [], removed: [], changed: [] },
  virtualServerGroups: { added: [], removed: [], changed: [] },
  virtualServers: { added: [], removed: [], changed: [] },
  realServers: {},
  fwmarkRules: false,
  coreVips: { added: [], removed: [], changed: [] },
};
