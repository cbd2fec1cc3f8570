/**
 * The benchmark topology (namespaces prefixed lvt-bench-*, removed on exit):
 *
 *   client c 198.18.0.100 ── d:eth0 198.18.0.2 ── director d ── d:eth1 198.18.1.2 ── bridge ── r1 r2 r3 198.18.1.11-13
 *
 * Addresses on the client side: 198.18.0.10 lvsd VIP (core-owned), 198.18.0.20 nftables DNAT
 * VIP (kernel address), 198.18.0.30 HAProxy VIP (kernel address). The real servers' default
 * gateway is 198.18.1.1: the core answers for it while lvsd runs; for the kernel variants it
 * is a kernel address on d:eth1 with the same MAC, so the real servers' ARP caches stay valid.
 */
import { Topology } from '../../test/netns/lib/netns.js';

export const BENCH = {
  client: '198.18.0.100',
  lvsVip: '198.18.0.10',
  nftVip: '198.18.0.20',
  haVip: '198.18.0.30',
  gw: '198.18.1.1',
  reals: ['198.18.1.11', '198.18.1.12', '198.18.1.13'],
  httpPort: 8080,
  udpPort: 9000,
} as const;

/** The i-th client address (198.18.0.100 + i). */
export function clientAddress(i: number): string {
  return `198.18.0.${100 + i}`;
}

/**
 * Builds the topology (the real servers' HTTP servers are bench/lib/servers.ts's business).
 * With `clients` > 1 the client host has that many addresses and its connections leave from
 * them in turn (an nft `snat to numgen inc mod N` in the client namespace, for every variant
 * alike): traffic from several clients, as a load balancer sees it, which lvsd's fanout
 * needs to spread over workers (a client's flows stay on one worker by design).
 */
export async function buildBenchTopology(clients = 1): Promise<Topology> {
  const t = new Topology('bench');
  await t.addHosts('c', 'd', 'r1', 'r2', 'r3');
  await t.link('c', 'eth0', 'd', 'eth0', { macA: '02:b0:00:00:00:01', macB: '02:b0:00:00:00:02' });
  const plug = await t.addSwitch('sw');
  await plug('d', 'eth1', '02:b0:00:00:01:02');
  for (const [i, r] of ['r1', 'r2', 'r3'].entries()) await plug(r, 'eth0', `02:b0:00:00:01:${(0x11 + i).toString(16)}`);
  for (let i = 0; i < Math.max(1, clients); i++) await t.addr('c', 'eth0', `${clientAddress(i)}/24`);
  if (clients > 1) {
    const map = Array.from({ length: clients }, (_, i) => `${i} : ${clientAddress(i)}`).join(', ');
    const rules = `table ip lvtclient { chain post { type nat hook postrouting priority 100; oifname "eth0" ip saddr ${BENCH.client} snat to numgen inc mod ${clients} map { ${map} }; }; }`;
    await t.ok('c', ['nft', rules]);
  }
  await t.addr('d', 'eth0', '198.18.0.2/24');
  await t.addr('d', 'eth1', '198.18.1.2/24');
  for (const h of ['c', 'd', 'r1', 'r2', 'r3']) {
    await t.sysctl(h, 'net.ipv6.conf.all.disable_ipv6', '1');
    // No TIME_WAIT sockets: each variant reuses the client's ports toward the same real
    // servers, and a SYN meeting a previous variant's TIME_WAIT socket costs a retransmission.
    await t.sysctl(h, 'net.ipv4.tcp_max_tw_buckets', '0');
    // wrk opens and closes thousands of connections/s: room in every listen backlog.
    await t.sysctl(h, 'net.core.somaxconn', '4096');
  }
  // The client reaches the real servers' network through the director (the "direct" variant routes).
  await t.ok('c', ['ip', 'route', 'add', '198.18.1.0/24', 'via', '198.18.0.2']);
  for (const [i, r] of ['r1', 'r2', 'r3'].entries()) {
    await t.addr(r, 'eth0', `${BENCH.reals[i]}/24`);
    await t.ok(r, ['ip', 'route', 'add', 'default', 'via', BENCH.gw]);
  }
  return t;
}

/** Reads an interface counter inside a host. */
export async function ifCounter(t: Topology, host: string, ifname: string, what: 'rx_packets' | 'tx_packets'): Promise<number> {
  return Number((await t.ok(host, ['cat', `/sys/class/net/${ifname}/statistics/${what}`])).trim());
}
