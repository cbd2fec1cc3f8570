/**
 * Director configs for the end-to-end tests: the same shape as the shipped
 * config/lab/dir*.conf (sync group of a front and a back VRRPv3 instance, NAT rr service,
 * HTTP_GET checks), with the knobs a test turns: advert interval, real servers, timing.
 */
import { LAB, type LabDirector, type LabReal } from '../../../../src/lab/network.js';

/** What a test may change. */
export interface PairConfigOptions {
  /** advert_int in seconds (VRRPv3: centiseconds allowed). Default 0.2 as the lab. */
  readonly advertIntS?: number;
  /** preempt_delay in seconds. Default 2 as the lab. */
  readonly preemptDelayS?: number;
  /** The real servers of the service. Default the lab's three. */
  readonly reals?: readonly LabReal[];
  /** delay_loop in seconds. Default 1. */
  readonly delayLoopS?: number;
  /** Weights by real server name (default 1). */
  readonly weights?: Readonly<Record<string, number>>;
}

/** Priority of each director: dir1 is the preferred MASTER. */
export const PRIORITY: Record<string, number> = { dir1: 150, dir2: 100 };

/** The keepalived.conf text of one director. */
export function pairConfig(d: LabDirector, o: PairConfigOptions = {}): string {
  const advert = o.advertIntS ?? 0.2;
  const preemptDelay = o.preemptDelayS ?? 2;
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
      connect_timeout 1
      retry 1
      delay_before_retry 0.5
    }
  }
`;
  return `global_defs {
  router_id e2e-${d.name}
  vrrp_version 3
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
  delay_loop ${o.delayLoopS ?? 1}
  alpha
${(o.reals ?? LAB.reals).map(real).join('')}}
`;
}
