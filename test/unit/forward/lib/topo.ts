/**
 * The standard test topology of the forwarding unit and golden tests:
 *
 *   client 198.18.100.7 / 2001:db8:100::7 ── router 02:00:00:00:00:fe ──┐
 *                                                                     eth0 02:00:00:00:00:01 (198.18.0.0/24, 2001:db8::/64)
 *                                                              director (VIPs 198.18.0.10, .11, 2001:db8::10)
 *                                                                     eth1 02:00:00:00:01:01 (198.18.1.0/24, 2001:db8:1::/64; gateway VIP 198.18.1.1)
 *   reals 198.18.1.11/.12 :8080 (NAT), 198.18.1.21:80 (DR), 2001:db8:1::11 :8080 (NAT v6), 198.18.1.31:53 (UDP)
 */
import { Pipeline, A_TX, A_TX_MULTI, TUN_HEADROOM } from '../../../../src/forward/pipeline.js';
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
export function standardPipeline(spec: ModelSpec = standardSpec(), opts: { vnet?: boolean; capacity?: number; headroom?: number } = {}): { pl: Pipeline; model: Model } {
  const pl = new Pipeline({ capacity: opts.capacity ?? 1024, seed: 1, headroom: opts.headroom });
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

/** Bytes of the segment area of a Runner (as the worker's). */
export const RUNNER_SEG = 512 * 1024;

/**
 * A processing buffer: frames at `pl.headroom` (room for TUN's outer headers before them, as
 * the worker leaves), scratch from 70 000, then the segment area.
 */
export class Runner {
  readonly buf = new Uint8Array(70000 + 16 * 2048 + RUNNER_SEG);
  readonly pl: Pipeline;
  /** Where frames are placed. */
  readonly at: number;
  constructor(pl: Pipeline) {
    this.pl = pl;
    this.at = pl.headroom;
    pl.setScratch(70000, 70000 + 16 * 2048);
    pl.setSegArea(70000 + 16 * 2048, this.buf.length);
  }

  /** Processes one frame; returns the action and copies of the output frames (`out` is the first). */
  run(frame: ArrayLike<number>, ifSlot: number, now = 1, vnet = false): { action: number; outIf: number; out: Uint8Array | null; outs: Uint8Array[] } {
    this.pl.resetScratch();
    this.buf.set(frame as ArrayLike<number>, this.at);
    const action = this.pl.process(this.buf, this.at, frame.length, vnet, ifSlot, now);
    const outs: Uint8Array[] = [];
    if (action === A_TX) outs.push(this.buf.slice(this.pl.outOff, this.pl.outOff + this.pl.outLen));
    if (action === A_TX_MULTI) {
      for (let i = 0; i < this.pl.outCount; i++) outs.push(this.buf.slice(this.pl.outOffs[i]!, this.pl.outOffs[i]! + this.pl.outLens[i]!));
    }
    return { action, outIf: this.pl.outIf, out: outs[0] ?? null, outs };
  }
}

/** MACs of the TUN topology (tun.test.ts, test/golden/forward/tun.json). */
export const TUN_MAC = {
  eth0: '02:00:00:00:00:01', eth1: '02:00:00:00:01:01', router: '02:00:00:00:00:fe',
  r41: '02:00:00:00:41:41', r42: '02:00:00:00:41:42', r43: '02:00:00:00:41:43', r44: '02:00:00:00:41:44',
  r45: '02:00:00:00:41:45', r46: '02:00:00:00:41:46', r6: '02:00:00:00:61:41', r6b: '02:00:00:00:61:42', gw: '02:00:00:00:fe:54',
};
/** The director's kernel address on eth1 (the tunnels' outer source). */
export const TUN_DIP = '198.18.1.2';
export const TUN_DIP6 = '2001:db8:1::2';
export const TUN_GUE_PORT = 6080;

/** TUN services: ipip, GRE, GUE, ip6ip6, IPv4 in IPv6, routed (see tun.test.ts). */
export function tunSpec(): ModelSpec {
  const tun = (address: string, port: number, reals: ModelSpec['services'][number]['reals']) =>
    ({ match: { kind: 'addr' as const, address, port }, method: 'TUN' as const, interface: 'eth0', reals });
  return {
    services: [
      tun('198.18.0.12', 80, [{ address: '198.18.1.41', port: 80 }, { address: '198.18.1.42', port: 80 }]),
      tun('198.18.0.13', 80, [{ address: '198.18.1.43', port: 80, tunnel: { type: 'gre', port: 0, csum: 'csum' } }]),
      tun('198.18.0.14', 80, [{ address: '198.18.1.44', port: 80, tunnel: { type: 'gue', port: TUN_GUE_PORT, csum: 'csum' } }]),
      tun('198.18.0.15', 80, [{ address: '198.18.1.45', port: 80, tunnel: { type: 'gue', port: TUN_GUE_PORT, csum: 'remcsum' } }]),
      tun('198.18.0.16', 80, [{ address: '198.18.1.46', port: 80, tunnel: { type: 'gre', port: 0, csum: 'nocsum' } }]),
      tun('2001:db8::12', 80, [{ address: '2001:db8:1::41', port: 80 }]),
      tun('198.18.0.17', 80, [{ address: '2001:db8:1::42', port: 80 }]),
      tun('198.18.0.18', 80, [{ address: '198.18.9.41', port: 80 }]),
      { ...tun('198.18.0.19', 53, [{ address: '198.18.1.41', port: 53 }]), protocol: 'udp' as const },
    ],
    coreVips: ['198.18.0.12', '198.18.0.13', '198.18.0.14', '198.18.0.15', '198.18.0.16', '2001:db8::12', '198.18.0.17', '198.18.0.18', '198.18.0.19']
      .map((address) => ({ address, interface: 'eth0' })),
  };
}

/** A pipeline on the TUN topology, everything claimed and resolved, outer IPv4 ids from 0x100. */
export function tunPipeline(o: { headroom?: number; vnet?: boolean; mtu?: number } = {}): Pipeline {
  const pl = new Pipeline({ capacity: 1024, seed: 1, headroom: o.headroom ?? TUN_HEADROOM });
  pl.setInterfaces([
    { name: 'eth0', mac: TUN_MAC.eth0, vnet: o.vnet ?? false, nets: [{ address: '198.18.0.1', prefixLen: 24 }, { address: '2001:db8::1', prefixLen: 64 }] },
    { name: 'eth1', mac: TUN_MAC.eth1, vnet: o.vnet ?? false, mtu: o.mtu ?? 1500,
      nets: [{ address: 'fe80::2', prefixLen: 64 }, { address: TUN_DIP, prefixLen: 24 }, { address: TUN_DIP6, prefixLen: 64 }] },
  ]);
  pl.setRoute('198.18.9.41', { ifname: 'eth1', gateway: '198.18.1.254' });
  const model = makeModel(tunSpec());
  pl.applyModel(model);
  if (pl.problems.length) throw new Error(pl.problems.join('; '));
  pl.setClaim(null, Object.values(model.coreVips), true);
  for (const [a, m] of [['198.18.1.41', TUN_MAC.r41], ['198.18.1.42', TUN_MAC.r42], ['198.18.1.43', TUN_MAC.r43], ['198.18.1.44', TUN_MAC.r44],
    ['198.18.1.45', TUN_MAC.r45], ['198.18.1.46', TUN_MAC.r46], ['2001:db8:1::41', TUN_MAC.r6], ['2001:db8:1::42', TUN_MAC.r6b], ['198.18.1.254', TUN_MAC.gw]] as const) {
    pl.setNeighbour(a, m);
  }
  pl.tunId = 0x100;
  return pl;
}

