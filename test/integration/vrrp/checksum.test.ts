/**
 * keepalived's old unicast VRRPv3 checksum (`old_unicast_checksum`) between two directors:
 * an `auto` instance switches to the old form when its peer uses it (and says so once),
 * `never` refuses it, and the form is used for sending as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/clock.js';
import { MemoryWire } from '../../../src/vrrp/memory-transport.js';
import { internetChecksum, pseudoHeader } from '../../../src/vrrp/packet.js';
import type { VrrpInstance } from '../../../src/model/types.js';
import { instance, model } from './lib/fixtures.js';
import { director, run, stateOf } from './lib/director.js';

const A = '198.18.0.1';
const B = '198.18.0.2';

async function unicastPair(aMode: VrrpInstance['unicastChecksum'], bMode: VrrpInstance['unicastChecksum']) {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', A, wire, clock);
  const b = await director('B', B, wire, clock);
  const uni = (src: string, peer: string, priority: number, unicastChecksum: VrrpInstance['unicastChecksum']) =>
    model({ instances: [instance('VI_1', { priority, version: 3, unicastSrcIp: src, unicastPeers: [peer], unicastChecksum })] });
  await a.sub.start(uni(A, B, 150, aMode));
  await b.sub.start(uni(B, A, 100, bMode));
  return { clock, wire, a, b };
}

/** Which destination the pseudo-header of a sent unicast v3 advert (IPv4 datagram) was summed with. */
function summedWith(bytes: Uint8Array): 'peer' | 'group' | 'neither' {
  const vrrp = bytes.subarray(20);
  const src = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const dst = `${bytes[16]}.${bytes[17]}.${bytes[18]}.${bytes[19]}`;
  if (internetChecksum(vrrp, pseudoHeader('ipv4', src, dst, vrrp.length)) === 0) return 'peer';
  if (internetChecksum(vrrp, pseudoHeader('ipv4', src, '224.0.0.18', vrrp.length)) === 0) return 'group';
  return 'neither';
}

test('old_unicast_checksum peer, auto here: accepted, one log line, and our own adverts then use the old form', async () => {
  const { clock, wire, a, b } = await unicastPair('old', 'auto');
  await run(clock, 7000);
  assert.equal(stateOf(a, 'VI_1'), 'MASTER');
  assert.equal(stateOf(b, 'VI_1'), 'BACKUP');
  assert.ok(wire.sent.filter((p) => p.host === 'A').every((p) => summedWith(p.bytes) === 'group'), 'A sends the old form');
  const st = b.status().instances[0]!;
  assert.ok(st.counters.advertsReceived >= 3);
  assert.equal(Object.values(st.counters.drops).reduce((x, y) => x + y, 0), 0);
  const switched = b.events.filter((e) => e.type === 'log' && e.fields?.unicastChecksum === 'old');
  assert.equal(switched.length, 1, 'said once');
  await a.sub.stop('t'); // priority 0: B takes over and advertises
  await run(clock, 3000);
  assert.equal(stateOf(b, 'VI_1'), 'MASTER');
  const bSent = wire.sent.filter((p) => p.host === 'B');
  assert.ok(bSent.length >= 2);
  assert.deepEqual([...new Set(bSent.map((p) => summedWith(p.bytes)))], ['group']);
  await b.sub.stop('t');
});

test('old_unicast_checksum never: the old form is a checksum drop, and the BACKUP takes over', async () => {
  const { clock, a, b } = await unicastPair('old', 'never');
  await run(clock, 5000);
  assert.ok(b.status().instances[0]!.counters.drops.checksum >= 2);
  assert.equal(stateOf(b, 'VI_1'), 'MASTER', 'B never hears a valid advert');
  await a.sub.stop('t');
  await b.sub.stop('t');
});

test('both standard (auto): the pseudo-header carries the peer address; nothing switches', async () => {
  const { clock, wire, a, b } = await unicastPair('auto', 'auto');
  await run(clock, 5000);
  assert.deepEqual([...new Set(wire.sent.map((p) => summedWith(p.bytes)))], ['peer']);
  assert.equal(b.events.filter((e) => e.type === 'log' && e.fields?.unicastChecksum === 'old').length, 0);
  await a.sub.stop('t');
  await b.sub.stop('t');
});
