import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, waitFor } from '../lib/netns.js';
import { PacketAnnouncer } from '../../../src/io/announce.js';
import { inNetns, openPacketSocket, ifFacts, PKT_BROADCAST, META_STRIDE, META_PKTTYPE } from '../../../src/io/af-packet.js';

const t = new Topology('io');
after(() => t.cleanup());

async function neighMac(host: string, addr: string): Promise<{ mac: string; state: string } | null> {
  const rows = JSON.parse(await t.ok(host, ['ip', '-j', 'neigh', 'show', 'to', addr, 'dev', 'v1'])) as { lladdr?: string; state?: string[] }[];
  return rows[0]?.lladdr ? { mac: rows[0].lladdr, state: (rows[0].state ?? []).join(',') } : null;
}

test('GARP and unsolicited NA from ns a are seen in ns b and correct stale neighbour entries there', async () => {
  await t.addHosts('a', 'b');
  await t.link('a', 'v0', 'b', 'v1', { macA: '02:10:00:00:00:0a', macB: '02:10:00:00:00:0b' });
  await t.addr('b', 'v1', '198.18.0.2/24');
  await t.ok('b', ['ip', 'addr', 'add', '2001:db8::2/64', 'dev', 'v1', 'nodad']);
  // Stale entries pointing at an old MAC, as a client has after a failover.
  await t.ok('b', ['ip', 'neigh', 'replace', '198.18.0.10', 'lladdr', '02:99:00:00:00:99', 'dev', 'v1', 'nud', 'stale']);
  await t.ok('b', ['ip', 'neigh', 'replace', '2001:db8::10', 'lladdr', '02:99:00:00:00:99', 'dev', 'v1', 'nud', 'stale']);
  assert.equal((await neighMac('b', '198.18.0.10'))?.mac, '02:99:00:00:00:99');

  const pathA = `/run/netns/${t.ns('a')}`;
  const pathB = `/run/netns/${t.ns('b')}`;
  const listener = inNetns(pathB, () => openPacketSocket('v1', { protocol: 0x0806 }));
  const rx = listener.attachRx();
  const ann = new PacketAnnouncer();
  try {
    const r = inNetns(pathA, () => ann.announce('v0', ['198.18.0.10', '2001:db8::10']));
    assert.deepEqual(r, { sent: 2, failed: 0 });
    assert.deepEqual(ann.openInterfaces, ['v0']);
    const aMac = inNetns(pathA, () => ifFacts('v0').macText);
    assert.equal(aMac, '02:10:00:00:00:0a');

    // The listener in b sees the broadcast GARP frame, byte for byte.
    const n = await waitFor(() => listener.recvBatch(), 2000, 10, 'GARP at the listener');
    assert.ok(n >= 1);
    const frame = Buffer.from(rx.buf.subarray(rx.offsets[0], rx.offsets[0]! + rx.lengths[0]!)).toString('hex');
    assert.equal(frame, 'ffffffffffff' + '02100000000a' + '0806' + '0001080006040001' + '02100000000a' + 'c612000a' + 'ffffffffffff' + 'c612000a');
    assert.equal(rx.meta[0 * META_STRIDE + META_PKTTYPE], PKT_BROADCAST);

    // And the kernel in b updated both stale entries to a's MAC.
    await waitFor(async () => (await neighMac('b', '198.18.0.10'))?.mac === '02:10:00:00:00:0a', 2000, 20, 'IPv4 neighbour updated by GARP');
    await waitFor(async () => (await neighMac('b', '2001:db8::10'))?.mac === '02:10:00:00:00:0a', 2000, 20, 'IPv6 neighbour updated by NA');

    // A given source MAC (VRRP virtual MAC) is what b learns.
    const r2 = inNetns(pathA, () => ann.announce('v0', ['198.18.0.10'], '00:00:5e:00:01:33'));
    assert.deepEqual(r2, { sent: 1, failed: 0 });
    await waitFor(async () => (await neighMac('b', '198.18.0.10'))?.mac === '00:00:5e:00:01:33', 2000, 20, 'neighbour updated to the virtual MAC');

    // Unknown interface: counted, never thrown.
    assert.deepEqual(inNetns(pathA, () => ann.announce('nope0', ['198.18.0.10'])), { sent: 0, failed: 1 });
    assert.equal(ann.failures.no_interface, 1);
  } finally {
    ann.close();
    listener.close();
  }
});
