/**
 * Every way a received VRRP packet is dropped is counted by reason where an operator sees
 * it: per instance for what an instance judged, per socket for what never reached one
 * (truncated, bad_ip_header, unknown_vrid); each drop is also a vrrp.packet_dropped event,
 * the `vrrp` command and formatter show the counters, and the Prometheus registry exports them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/lib/clock.js';
import { MemoryWire } from '../../../src/vrrp/memory-transport.js';
import { CHANNEL_DROP_REASONS, INSTANCE_DROP_REASONS, encodeAdvert, encodeIPv4Packet } from '../../../src/vrrp/packet.js';
import { formatVrrp } from '../../../src/cli/format/vrrp.js';
import { registerVrrpMetrics } from '../../../src/control/metrics.js';
import type { LvsdEvent } from '../../../src/events/types.js';
import { instance, model } from './lib/fixtures.js';
import { director, run, stateOf } from './lib/director.js';

const A_ADDR = '198.18.0.1';
const B_ADDR = '198.18.0.2';
const C_ADDR = '198.18.0.3';

/** B (BACKUP, 100) hearing A (MASTER, 150), and a raw sender C on the same segment. */
async function setup(bExtra: Parameters<typeof instance>[1] = {}, bLinks: string[] = []) {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A_ADDR, wire, clock);
  const b = await director('B', B_ADDR, wire, clock, bLinks);
  await a.sub.start(model({ instances: [instance('VI_1', { priority: 150 })] }));
  await b.sub.start(model({ instances: [instance('VI_1', { priority: 100, ...bExtra })] }));
  await run(clock, 5000);
  wire.plug('C', 'eth0', 'lan', [C_ADDR]);
  const ch = wire.transport('C').open({ family: 'ipv4', ifname: 'eth0', ifindex: 1, multicastGroup: '224.0.0.18' }, () => {}, () => {});
  const advert = (over: Partial<Parameters<typeof encodeAdvert>[0]> = {}) =>
    encodeAdvert({ version: 2, family: 'ipv4', vrid: 51, priority: 50, advertIntervalMs: 1000, addresses: ['198.18.0.100'], src: C_ADDR, dst: '224.0.0.18', ...over });
  const sendRaw = (bytes: Uint8Array) => ch.send(bytes, '224.0.0.18');
  const send = (payload: Uint8Array) => sendRaw(encodeIPv4Packet(payload, C_ADDR, '224.0.0.18', 9));
  const stop = async () => {
    ch.close();
    await a.sub.stop('t');
    await b.sub.stop('t');
  };
  return { clock, a, b, advert, send, sendRaw, stop };
}

function dropEvents(events: readonly LvsdEvent[], reason: string) {
  return events.filter((e): e is Extract<LvsdEvent, { type: 'vrrp.packet_dropped' }> => e.type === 'vrrp.packet_dropped' && e.reason === reason);
}

test('counters: an instance counts only what it judges; a socket counts truncated, bad_ip_header and unknown_vrid', () => {
  assert.deepEqual([...CHANNEL_DROP_REASONS].sort(), ['bad_ip_header', 'truncated', 'unknown_vrid']);
  for (const r of CHANNEL_DROP_REASONS) assert.ok(!(INSTANCE_DROP_REASONS as readonly string[]).includes(r));
});

test('drop reason truncated (IPv4 datagram shorter than its header): counted on the socket, event without instance', async () => {
  const { clock, b, advert, sendRaw, stop } = await setup();
  sendRaw(encodeIPv4Packet(advert(), C_ADDR, '224.0.0.18', 9).subarray(0, 12));
  await run(clock, 10);
  const st = b.status();
  assert.equal(st.channels[0]!.drops.truncated, 1);
  assert.deepEqual(Object.keys(st.instances[0]!.counters.drops).filter((k) => (CHANNEL_DROP_REASONS as readonly string[]).includes(k)), [], 'no per-instance counter that can never move');
  const ev = dropEvents(b.events, 'truncated');
  assert.equal(ev.length, 1);
  assert.equal(ev[0]!.instance, null);
  assert.equal(ev[0]!.interface, 'eth0');
  await stop();
});

test('drop reason truncated (VRRP payload shorter than the 8-byte header): not an unknown VRID', async () => {
  const { clock, b, advert, send, stop } = await setup();
  send(advert().subarray(0, 5));
  await run(clock, 10);
  const d = b.status().channels[0]!.drops;
  assert.equal(d.truncated, 1);
  assert.equal(d.unknown_vrid, 0);
  assert.equal(dropEvents(b.events, 'truncated')[0]!.source, C_ADDR);
  await stop();
});

test('drop reason bad_ip_header (not IPv4, wrong protocol, bad header length)', async () => {
  const { clock, b, advert, sendRaw, stop } = await setup();
  const ip = () => encodeIPv4Packet(advert(), C_ADDR, '224.0.0.18', 9);
  const v6 = ip();
  v6[0] = 0x65;
  const tcp = ip();
  tcp[9] = 6;
  const ihl = ip();
  ihl[0] = 0x43;
  for (const p of [v6, tcp, ihl]) sendRaw(p);
  await run(clock, 10);
  assert.equal(b.status().channels[0]!.drops.bad_ip_header, 3);
  assert.equal(dropEvents(b.events, 'bad_ip_header').length, 3);
  await stop();
});

test('drop reason unknown_vrid: counted on the socket, with an event', async () => {
  const { clock, b, advert, send, stop } = await setup();
  send(advert({ vrid: 77 }));
  await run(clock, 10);
  assert.equal(b.status().channels[0]!.drops.unknown_vrid, 1);
  assert.equal(dropEvents(b.events, 'unknown_vrid')[0]!.source, C_ADDR);
  await stop();
});

test('drop reason not_running: an instance in FAULT counts the adverts it ignores, with an event', async () => {
  const { clock, a, b, stop } = await setup({ trackInterfaces: [{ name: 'eth1', weight: 0, weightReverse: false }] }, ['eth1']);
  b.netlink.setLinkUp('eth1', false);
  await run(clock, 100);
  assert.equal(stateOf(b, 'VI_1'), 'FAULT');
  const before = b.status().instances[0]!.counters.drops.not_running;
  await run(clock, 3000); // A advertises once a second
  const after = b.status().instances[0]!.counters.drops.not_running;
  assert.ok(after - before >= 2, `not_running ${before} -> ${after}`);
  const ev = dropEvents(b.events, 'not_running');
  assert.ok(ev.length >= 2);
  assert.equal(ev[0]!.instance, 'VI_1');
  assert.equal(ev[0]!.source, A_ADDR);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  await stop();
});

test('the formatter and the Prometheus counters show adverts and drops by reason, per instance and per socket', async () => {
  const { clock, b, advert, send, stop } = await setup();
  send(advert({ vrid: 77 }));
  send(advert({ advertIntervalMs: 2000 }));
  await run(clock, 10);
  const st = b.status();
  const text = formatVrrp(st);
  assert.match(text, /drops advert_interval=1/);
  assert.match(text, /socket ipv4 eth0 group 224\.0\.0\.18: open; drops unknown_vrid=1/);
  const registry = new Registry();
  const detach = registerVrrpMetrics(registry, () => b.status());
  const body = await registry.metrics();
  const received = st.instances[0]!.counters.advertsReceived;
  assert.ok(received > 0);
  assert.match(body, new RegExp(`lvsd_vrrp_adverts_received_total\\{instance="VI_1"\\} ${received}`));
  assert.match(body, /lvsd_vrrp_adverts_sent_total\{instance="VI_1"\} 0/);
  assert.match(body, /lvsd_vrrp_packets_dropped_total\{instance="VI_1",reason="advert_interval"\} 1/);
  assert.match(body, /lvsd_vrrp_packets_dropped_total\{instance="VI_1",reason="checksum"\} 0/);
  assert.match(body, /lvsd_vrrp_socket_packets_dropped_total\{family="ipv4",interface="eth0",reason="unknown_vrid"\} 1/);
  detach();
  assert.doesNotMatch(await registry.metrics(), /lvsd_vrrp_adverts/);
  await stop();
});
