/**
 * The addon's performance paths, on a veth pair between two namespaces: the TPACKET_V2
 * receive ring (per-frame hand-over, frames returned on the next call, truncation flag), the
 * TPACKET_V2 transmit ring behind sendBatch (one send() per batch; frames larger than a
 * ring frame leave by the companion socket, in order), PACKET_QDISC_BYPASS, the
 * PACKET_FANOUT_CBPF group whose program picks the member (and which ignores the host's own
 * transmissions group-wide), huge-page buffers and thread names.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Topology, canUseNetns } from '../lib/netns.js';
import { allocTxBatch, inNetns, openPacketSocket, META_STRIDE, META_PKTTYPE, PKT_HOST, STATUS_TRUNCATED, type PacketSocket, type RxBatch, type TxBatch } from '../../../src/io/af-packet.js';
import { loadNative } from '../../../src/io/native.js';
import { hugeAlloc, setThreadName } from '../../../src/io/huge.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const t = new Topology('perf');
let A = '';
let B = '';
const MAC_A = '02:31:00:00:00:0a';
const MAC_B = '02:31:00:00:00:0b';
const open: PacketSocket[] = [];
function sock(ns: string, ifname: string, opts: Parameters<typeof openPacketSocket>[1] = {}): PacketSocket {
  const s = inNetns(ns, () => openPacketSocket(ifname, opts));
  open.push(s);
  return s;
}

/** n frames with ethertype 0x88b5 and a sequence number, `len` bytes each, 2 KiB apart (or `stride`). */
function frames(tx: TxBatch, n: number, len = 60, start = 0, stride = 2048): void {
  const dv = new DataView(tx.buf.buffer, tx.buf.byteOffset, tx.buf.byteLength);
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    tx.offsets[i] = o;
    tx.lengths[i] = len;
    tx.buf.fill(0, o, o + len);
    tx.buf.set([2, 0x31, 0, 0, 0, 0x0b], o);
    tx.buf.set([2, 0x31, 0, 0, 0, 0x0a], o + 6);
    dv.setUint16(o + 12, 0x88b5);
    dv.setUint32(o + 14, start + i);
    tx.buf[o + len - 1] = 0xa5;
  }
}

/** Receives until `want` frames of ours arrived (bounded); returns their sequence numbers and lengths. */
function collect(s: PacketSocket, rx: RxBatch, want: number, ms = 2000): { seq: number[]; len: number[]; truncated: number } {
  const out = { seq: [] as number[], len: [] as number[], truncated: 0 };
  const dv = new DataView(rx.buf.buffer, rx.buf.byteOffset, rx.buf.byteLength);
  const end = Date.now() + ms;
  while (out.seq.length < want && Date.now() < end) {
    const n = s.recvBatch();
    for (let i = 0; i < n; i++) {
      const o = rx.offsets[i]!;
      if (dv.getUint16(o + 12) !== 0x88b5) continue;
      assert.equal(rx.meta[i * META_STRIDE + META_PKTTYPE], PKT_HOST);
      if (rx.meta[i * META_STRIDE + 2]! & STATUS_TRUNCATED) out.truncated++;
      out.seq.push(dv.getUint32(o + 14));
      out.len.push(rx.lengths[i]!);
    }
  }
  return out;
}

before(async () => {
  if (skip) return;
  await t.addHosts('a', 'b');
  await t.link('a', 'v0', 'b', 'v1', { macA: MAC_A, macB: MAC_B });
  for (const [h, i] of [['a', 'v0'], ['b', 'v1']] as const) await t.sysctl(h, `net.ipv6.conf.${i}.disable_ipv6`, '1');
  A = `/run/netns/${t.ns('a')}`;
  B = `/run/netns/${t.ns('b')}`;
});
after(async () => {
  for (const s of open) s.close();
  await t.cleanup();
});

test('TPACKET_V2 ring: 3 000 frames through a 64-frame ring, in order; each call hands back what the previous one returned', { skip }, async () => {
  const rxs = sock(B, 'v1', { ring: { version: 2, frameSize: 4096, frameCount: 64 } });
  const rx = rxs.attachRx(undefined, 32);
  const txs = sock(A, 'v0', { protocol: 0 });
  const tx = allocTxBatch(50);
  txs.attachTx(tx);
  const got: number[] = [];
  for (let round = 0; round < 100; round++) {
    frames(tx, 30, 60, round * 30);
    assert.equal(txs.sendBatch(30), 30);
    got.push(...collect(rxs, rx, 30).seq);
  }
  assert.equal(got.length, 3000, 'every frame came through the ring (it recycled 46 times)');
  assert.deepEqual(got, Array.from({ length: 3000 }, (_, i) => i));
  assert.equal(rxs.stats().drops, 0);
  // The last call's frames are still ours: the next call hands them back (and finds nothing),
  // after which a 50-frame burst fits the 64-frame ring whole.
  assert.equal(rxs.recvBatch(), 0);
  frames(tx, 50, 60, 5000);
  assert.equal(txs.sendBatch(50), 50);
  assert.equal(collect(rxs, rx, 50).seq.length, 50, 'the whole burst');
  assert.equal(rxs.stats().drops, 0);
  assert.equal(rxs.recvBatch(), 0, 'empty: everything handed back');
});

test('TPACKET_V2 ring: a frame longer than the ring frame is cut and flagged', { skip }, async () => {
  const rxs = sock(B, 'v1', { ring: { version: 2, frameSize: 4096, frameCount: 8 } });
  const rx = rxs.attachRx(undefined, 8);
  const txs = sock(A, 'v0', { protocol: 0 });
  const tx = allocTxBatch(1, 8192);
  txs.attachTx(tx);
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '6000']);
  await t.ok('b', ['ip', 'link', 'set', 'v1', 'mtu', '6000']);
  try {
    frames(tx, 1, 5000);
    assert.equal(txs.sendBatch(1), 1);
    const r = collect(rxs, rx, 1);
    assert.equal(r.truncated, 1);
    assert.ok(r.len[0]! < 4096, `cut to the frame: ${r.len[0]}`);
  } finally {
    await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '1500']);
    await t.ok('b', ['ip', 'link', 'set', 'v1', 'mtu', '1500']);
  }
});

test('TX ring: batches leave with one send(), the ring is reused, a frame too large for a ring frame keeps its place', { skip }, async () => {
  const rxs = sock(B, 'v1', { ring: { version: 2, frameSize: 4096, frameCount: 256 } });
  const rx = rxs.attachRx(undefined, 256);
  const txs = sock(A, 'v0', { protocol: 0, txRing: { frameCount: 16 }, qdiscBypass: true });
  const tx = allocTxBatch(16, 16 * 2048);
  txs.attachTx(tx);
  const got: number[] = [];
  for (let round = 0; round < 40; round++) {
    frames(tx, 16, 60 + round, round * 16);
    let sent = 0;
    for (let k = 0; k < 100 && sent < 16; k++) sent += txs.sendBatch(16 - sent, sent);
    assert.equal(sent, 16, `round ${round}: ${txs.lastErrno}`);
    got.push(...collect(rxs, rx, 16).seq);
  }
  assert.deepEqual(got, Array.from({ length: 640 }, (_, i) => i), 'in order through a 16-frame ring, 40 times over');
  // Mixed sizes: 1400-byte frames go through the ring, a 2100-byte one (over 2048 - 32) by the companion socket.
  await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '3000']);
  await t.ok('b', ['ip', 'link', 'set', 'v1', 'mtu', '3000']);
  try {
    const big = allocTxBatch(3, 3 * 4096);
    frames(big, 3, 1400, 1000, 4096);
    big.lengths[1] = 2100;
    txs.attachTx(big);
    assert.equal(txs.sendBatch(3), 3);
    const r = collect(rxs, rx, 3);
    assert.deepEqual(r.seq, [1000, 1001, 1002], 'order kept across the two paths');
    assert.deepEqual(r.len, [1400, 2100, 1400]);
  } finally {
    await t.ok('a', ['ip', 'link', 'set', 'v0', 'mtu', '1500']);
    await t.ok('b', ['ip', 'link', 'set', 'v1', 'mtu', '1500']);
  }
  assert.throws(() => inNetns(A, () => openPacketSocket('v0', { txRing: {}, ring: { version: 3 } })), /txRing needs/);
});

test('PACKET_FANOUT_CBPF: the program picks the member; the host\'s own transmissions stay unseen', { skip }, async () => {
  const g = 0x4c00 + (process.pid & 0xff);
  const m0 = sock(B, 'v1', { fanout: { group: g, mode: 'cbpf' } });
  const m1 = sock(B, 'v1', { fanout: { group: g, mode: 'cbpf' } });
  const r0 = m0.attachRx();
  const r1 = m1.attachRx();
  // ret #1: every frame to the second member (join order).
  m0.setFanoutProgram(new Uint32Array([0x06, 1]));
  const txs = sock(A, 'v0', { protocol: 0 });
  const tx = allocTxBatch(20);
  txs.attachTx(tx);
  frames(tx, 20);
  assert.equal(txs.sendBatch(20), 20);
  assert.equal(collect(m1, r1, 20).seq.length, 20);
  assert.equal(m0.recvBatch(), 0, 'none to member 0');
  // The other member replaces the group's program: ret #0.
  m1.setFanoutProgram(new Uint32Array([0x06, 0]));
  frames(tx, 20, 60, 20);
  assert.equal(txs.sendBatch(20), 20);
  assert.equal(collect(m0, r0, 20).seq.length, 20);
  // Frames sent from b's own v1 are not delivered back to the group (PACKET_FANOUT_FLAG_IGNORE_OUTGOING).
  const own = sock(B, 'v1', { protocol: 0 });
  const otx = allocTxBatch(5);
  own.attachTx(otx);
  frames(otx, 5, 60, 500);
  assert.equal(own.sendBatch(5), 5);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(m0.recvBatch() + m1.recvBatch(), 0, 'own transmissions unseen');
  assert.throws(() => m0.setFanoutProgram(new Uint32Array(3)), /2 words each/);
  const plain = sock(B, 'v1');
  assert.throws(() => plain.setFanoutProgram(new Uint32Array([0x06, 0])), /PACKET_FANOUT_DATA/);
});

test('huge-page buffers are zeroed, sized and 2 MiB-backed where THP allows; thread names show in /proc', { skip }, () => {
  const alloc = hugeAlloc();
  assert.ok(alloc, 'addon built');
  const ab = alloc(5 << 20);
  assert.equal(ab.byteLength, 5 << 20);
  const u = new Uint32Array(ab);
  assert.ok(u.every((x) => x === 0));
  u.fill(7);
  assert.equal(u[u.length - 1], 7);
  assert.throws(() => loadNative().allocHuge(0), /allocHuge/);
  setThreadName('lvsd-test');
  assert.equal(readFileSync(`/proc/self/task/${process.pid}/comm`, 'utf8').trim(), 'lvsd-test');
  setThreadName('node');
});
