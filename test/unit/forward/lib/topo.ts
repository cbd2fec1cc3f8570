/**
 * The standard test topology of the forwarding unit and golden tests:
 *
 *   client 198.18.100.7 / 2001:db8:100::7 ── router 02:00:00:00:00:fe ──┐
 *                                                                     eth0 02:00:00:00:00:01 (198.18.0.0/24, 2001:db8::/64)
 *                                                              director (VIPs 198.18.0.10, .11, 2001:db8::10)
 *                                                                     eth1 02:00:00:00:01:01 (198.18.1.0/24, 2001:db8:1::/64; gateway VIP 198.18.1.1)
 *   reals 198.18.1.11/.12 :8080 (NAT), 198.18.1.21:80 (DR), 2001:db8:1::11 :8080 (NAT v6), 198.18.1.31:53 (UDP)
 */
import { Pipeline, A_TX } from '../../../../src/forward/pipeline.js';
import { makeModel, type ModelSpec } from './model.js';
import { ipvsServicesOf } from '../../../../src/forward/services.js';
import { sorryKeyOf } from '../../../../src/forward/dests.js';
import type { Model } from '../../../../src/model/types.js';

export const MAC = {
  eth0: '02:00:00:00:00:01',
  eth1: '02:00:00:00:01:01',
  router: '02:00:00:00:00:fe',
  rs11: '02:00:00:00:11:11',
  rs12: '02:00:00:00:11:12',
  rs21: '02:00:00:00:11:21',
  rs31: '02:00:00:00:11:31',
  rs6: '02:00:00:00:16:11',
  sorry: '02:00:00:00:99:99',
} as const;

export const CLIENT = '198.18.100.7';
export const CLIENT6 = '2001:db8:100::7';

export function standardSpec(): ModelSpec {
  return {
    services: [
      { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }] },
      { match: { kind: 'addr', address: '198.18.0.11', port: 80 }, method: 'DR', reals: [{ address: '198.18.1.21', port: 80 }] },
      { match: { kind: 'addr', address: '198.18.0.10', port: 53 }, protocol: 'udp', method: 'NAT', reals: [{ address: '198.18.1.31', port: 53 }] },
      { match: { kind: 'addr', address: '2001:db8::10', port: 80 }, method: 'NAT', reals: [{ address: '2001:db8:1::11', port: 8080 }] },
    ],
    coreVips: [
      { address: '198.18.0.10', interface: 'eth0' },
      { address: '198.18.0.11', interface: 'eth0' },
      { address: '2001:db8::10', interface: 'eth0' },
      { address: '198.18.1.1', interface: 'eth1' },
    ],
  };
}

/** A pipeline on the standard topology (or a given model), everything claimed and resolved. */
export function standardPipeline(spec: ModelSpec = standardSpec(), opts: { vnet?: boolean; capacity?: number } = {}): { pl: Pipeline; model: Model } {
  const pl = new Pipeline({ capacity: opts.capacity ?? 1024, seed: 1 });
  pl.setInterfaces([
    { name: 'eth0', mac: MAC.eth0, vnet: opts.vnet ?? false, nets: [{ address: '198.18.0.1', prefixLen: 24 }, { address: '2001:db8::1', prefixLen: 64 }] },
    { name: 'eth1', mac: MAC.eth1, vnet: opts.vnet ?? false, nets: [{ address: '198.18.1.1', prefixLen: 24 }, { address: '2001:db8:1::1', prefixLen: 64 }] },
  ]);
  const model = makeModel(spec);
  const slots = { svc: {} as Record<string, number>, dest: {} as Record<string, number> };
  let si = 0, di = 0;
  for (const vs of Object.values(model.virtualServers)) {
    for (const d of ipvsServicesOf(model, vs)) {
      slots.svc[d.key] = si++;
      for (const rs of Object.values(vs.realServers)) slots.dest[`${d.key}|${rs.key}`] = di++;
      if (vs.sorryServer) slots.dest[`${d.key}|${sorryKeyOf(vs.sorryServer)}`] = di++;
    }
  }
  pl.applyModel(model, slots);
  pl.setClaim(null, Object.values(model.coreVips), true);
  pl.setNeighbour('198.18.1.11', MAC.rs11);
  pl.setNeighbour('198.18.1.12', MAC.rs12);
  pl.setNeighbour('198.18.1.21', MAC.rs21);
  pl.setNeighbour('198.18.1.31', MAC.rs31);
  pl.setNeighbour('2001:db8:1::11', MAC.rs6);
  pl.setNeighbour('198.18.1.99', MAC.sorry);
  return { pl, model };
}

/** A processing buffer: frames at 0, scratch from 70 000. */
export class Runner {
  readonly buf = new Uint8Array(70000 + 16 * 2048);
  readonly pl: Pipeline;
  constructor(pl: Pipeline) {
    this.pl = pl;
    pl.setScratch(70000, this.buf.length);
  }

  /** Processes one frame; returns the action and a copy of the output frame (if any). */
  run(frame: ArrayLike<number>, ifSlot: number, now = 1, vnet = false): { action: number; outIf: number; out: Uint8Array | null } {
    this.pl.resetScratch();
    this.buf.set(frame as ArrayLike<number>, 0);
    const action = this.pl.process(this.buf, 0, frame.length, vnet, ifSlot, now);
    const out = action === A_TX ? this.buf.slice(this.pl.outOff, this.pl.outOff + this.pl.outLen) : null;
    return { action, outIf: this.pl.outIf, out };
  }
}
