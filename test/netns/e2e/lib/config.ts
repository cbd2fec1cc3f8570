/**
 * Director configs for the end-to-end tests: the same shape as the shipped
 * config/lab/dir*.conf (sync group of a front and a back VRRP instance, NAT rr service,
 * HTTP_GET checks), with the knobs a test turns: advert interval, real servers, timing.
 * Every default (VRRP version, advert_int, priorities, preempt_delay, check timing) is the
 * shipped files' own, read by lvsd's loader (src/lab/settings.ts).
 */
import { LAB, type LabDirector, type LabReal } from '../../../../src/lab/network.js';
import { labSettings } from '../../../../src/lab/settings.js';

const LAB_SETTINGS = labSettings();

/** What a test may change. */
export interface PairConfigOptions {
  /** advert_int in seconds (VRRPv3: centiseconds allowed). Default the lab's. */
  readonly advertIntS?: number;
  /** preempt_delay in seconds. Default the lab's. */
  readonly preemptDelayS?: number;
  /** The real servers of the service. Default the lab's three. */
  readonly reals?: readonly LabReal[];
  /** delay_loop in seconds. Default the lab's. */
  readonly delayLoopS?: number;
  /** Weights by real server name (default 1). */
  readonly weights?: Readonly<Record<string, number>>;
}

/** Priority of each director (the shipped files'): dir1 is the preferred MASTER. */
export const PRIORITY: Record<string, number> = Object.fromEntries(Object.values(LAB_SETTINGS.directors).map((d) => [d.name, d.priority]));

/** advert_int of the generated files when a test does not choose one (ms). */
export function advertIntMsOf(o: PairConfigOptions): number {
  return o.advertIntS === undefined ? LAB_SETTINGS.advertIntMs : Math.round(o.advertIntS * 1000);
}

const seconds = (ms: number) => String(ms / 1000);

/** The keepalived.conf text of one director. */
export function pairConfig(d: LabDirector, o: PairConfigOptions = {}): string {
  const advert = seconds(advertIntMsOf(o));
  const preemptDelay = o.preemptDelayS ?? LAB_SETTINGS.preemptDelayMs / 1000;
  const c = LAB_SETTINGS.check;
  const prio = PRIORITY[d.name]!;
  const instance = (name: string, iface: string, vrid: number, vip: string) => `
vrrp_instance ${name} {
  state BACKUP
  interface ${iface}
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int ${advert}
  preempt_delay ${preemptDelay}
  virtual_ipaddress {
    ${vip}/24 dev ${iface}
  }
}
`;
  const real = (r: LabReal) => `
  real_server ${r.address} ${LAB.port} {
    weight ${o.weights?.[r.name] ?? 1}
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout ${seconds(c.connectTimeoutMs)}
      retry ${c.retry}
      delay_before_retry ${seconds(c.delayBeforeRetryMs)}
    }
  }
`;
  return `global_defs {
  router_id e2e-${d.name}
  vrrp_version ${LAB_SETTINGS.vrrpVersion}
}
vrrp_sync_group PAIR {
  group {
    VI_FRONT
    VI_BACK
  }
}
${instance('VI_FRONT', 'eth0', 51, LAB.vip)}${instance('VI_BACK', 'eth1', 52, LAB.gatewayVip)}
virtual_server ${LAB.vip} ${LAB.port} {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  delay_loop ${o.delayLoopS ?? seconds(c.delayLoopMs)}
  alpha
${(o.reals ?? LAB.reals).map(real).join('')}}
`;
}
