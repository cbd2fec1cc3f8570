/**
 * The lab's network, shared by `npm run lab` and the end-to-end tests (so both run the
 * same topology, and config/lab/*.conf fits both):
 *
 *                 front segment 198.18.0.0/24 (bridge in ns "front")
 *   client .100 ───────────┬──────────────────────┐
 *                    dir1 eth0 .1           dir2 eth0 .2          VIP 198.18.0.10 (on the MASTER)
 *                    dir1 eth1 .1           dir2 eth1 .2          gateway VIP 198.18.1.254 (on the MASTER)
 *                 ─────────┴────────┬───────────┴──────── back segment 198.18.1.0/24 (bridge in ns "back")
 *                        rs1 .11   rs2 .12   rs3 .13   (rs4 .14 spare)  default route via 198.18.1.254
 *
 * Fixed MAC addresses make ARP entries readable (who does the client reach the VIP at?).
 */
import type { Topology } from './topology.js';

/** A director host of the lab. */
export interface LabDirector {
  readonly name: string;
  readonly front: string;
  readonly back: string;
  readonly frontMac: string;
  readonly backMac: string;
}

/** A real server host of the lab. */
export interface LabReal {
  readonly name: string;
  readonly address: string;
}

/** Addresses and names of the lab (198.18.0.0/15 only). */
export const LAB = {
  vip: '198.18.0.10',
  port: 80,
  gatewayVip: '198.18.1.254',
  client: { name: 'client', address: '198.18.0.100', mac: '02:00:00:00:00:64' },
  directors: [
    { name: 'dir1', front: '198.18.0.1', back: '198.18.1.1', frontMac: '02:00:00:00:00:01', backMac: '02:00:00:00:01:01' },
    { name: 'dir2', front: '198.18.0.2', back: '198.18.1.2', frontMac: '02:00:00:00:00:02', backMac: '02:00:00:00:01:02' },
  ] as readonly LabDirector[],
  reals: [
    { name: 'rs1', address: '198.18.1.11' },
    { name: 'rs2', address: '198.18.1.12' },
    { name: 'rs3', address: '198.18.1.13' },
  ] as readonly LabReal[],
  /** A fourth real server host the lab does not configure (the reload test adds it). */
  spare: { name: 'rs4', address: '198.18.1.14' } as LabReal,
} as const;

/** Options of the lab network. */
export interface LabNetworkOptions {
  /** Also build the spare real server host rs4. */
  readonly spare?: boolean;
}

/**
 * Builds the lab network in a topology: the two switches, the client, both directors and
 * the real servers (with their default route via the gateway VIP). Starts no process.
 */
export async function buildLabNetwork(topo: Topology, opts: LabNetworkOptions = {}): Promise<void> {
  const reals = opts.spare ? [...LAB.reals, LAB.spare] : LAB.reals;
  const front = await topo.addSwitch('front');
  const back = await topo.addSwitch('back');
  await topo.addHosts(LAB.client.name, ...LAB.directors.map((d) => d.name), ...reals.map((r) => r.name));
  await front(LAB.client.name, 'eth0', LAB.client.mac);
  await topo.addr(LAB.client.name, 'eth0', `${LAB.client.address}/24`);
  for (const d of LAB.directors) {
    await front(d.name, 'eth0', d.frontMac);
    await back(d.name, 'eth1', d.backMac);
    await topo.addr(d.name, 'eth0', `${d.front}/24`);
    await topo.addr(d.name, 'eth1', `${d.back}/24`);
  }
  for (const r of reals) {
    await back(r.name, 'eth0');
    await topo.addr(r.name, 'eth0', `${r.address}/24`);
    // NAT: replies to clients go back through the director, via the gateway VIP that the
    // MASTER's forwarding core owns (ARCHITECTURE D4).
    await topo.ok(r.name, ['ip', 'route', 'add', 'default', 'via', LAB.gatewayVip]);
  }
}

/** The director whose front MAC is `mac`, if any. */
export function directorByMac(mac: string | null): LabDirector | undefined {
  return LAB.directors.find((d) => d.frontMac === mac || d.backMac === mac);
}
