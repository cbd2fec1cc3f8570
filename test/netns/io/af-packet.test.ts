import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology, waitFor } from '../lib/netns.js';
import {
  allocRxBatch, allocTxBatch, inNetns, openPacketSocket, ifFacts, META_STRIDE, META_PKTTYPE, META_IFINDEX, META_STATUS,
  PKT_HOST, PKT_MULTICAST, PKT_BROADCAST, STATUS_TRUNCATED, type PacketSocket, type TxBatch,
} from '../../../src/io/af-packet.js';
import { loadNative } from '../../../src/io/native.js';

const t = new Topology('io');
let A = '';
let B = '';
const MAC_A = '02:30:00:00:00:0a';
const MAC_B = '02:30:00:00:00:0b';
const open: PacketSocket[] = [];
const inA = <T>(fn: () => T) => inNetns(A, fn);
const inB = <T>(fn: () => T) => inNetns(B, fn);
function sock(ns: 'a' | 'b', ifname: string, opts: Parameters<typeof openPacketSocket>[1] = {}): PacketSocket {
  const s = (ns === 'a' ? inA : inB)(() => openPacketSocket(ifname, opts));
  open.push(s);
  return s;
}

/** Fills a TxBatch with n test frames (ethertype 0x88b5, local experimental) to dst, with a sequence number and a per-flow IPv4-looking header for fanout hashing. */
function frames(tx: TxBatch, n: number, dst: string, src: string, opts: { len?: number; ipv4Flows?: number; start?: number } = {}): void {
  const len = opts.len ?? 60;
  const d = dst.split(':').map((x) => parseInt(x, 16));
  const s = src.split(':').map((x) => parseInt(x, 16));
  for (let i = 0; i < n; i++) {
    const o = i * 2048;
    tx.offsets[i] = o;
    tx.lengths[i] = len;
    tx.buf.fill(0, o, o + len);
    tx.buf.set(d, o);
    tx.buf.set(s, o + 6);
    if (opts.ipv4Flows) {
      // A minimal IPv4/UDP header so PACKET_FANOUT_HASH has a flow to hash: source port varies per flow.
      const flow = i % opts.ipv4Flows;
      tx.buf[o + 12] = 0x08; tx.buf[o + 13] = 0x00;
      tx.buf[o + 14] = 0x45; tx.buf[o + 16] = 0; tx.buf[o + 17] = len - 14; tx.buf[o + 22] = 64; tx.buf[o + 23] = 17;
      tx.buf.set([198, 18, 4, 1, 198, 18, 4, 2], o + 26);
      tx.buf[o + 34] = 0x10 + (flow >> 8); tx.buf[o + 35] = flow & 255; tx.buf[o + 36] = 0x00; tx.buf[o + 37] = 0x35;
      tx.buf[o + 38] = 0; tx.buf[o + 39] = len - 34;
      put32(tx.buf, o + 42, (opts.start ?? 0) + i);
    } else {
      tx.buf[o + 12] = 0x88; tx.buf[o + 13] = 0xb5;
      put32(tx.buf, o + 14, (opts.start ?? 0) + i);
    }
  }
}

function put32(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(o, v);
}

function sendAll(s: PacketSocket, n: number): number {
  let sent = 0;
  for (let k = 0; k < 1000 && sent < n; k++) sent += s.sendBatch(n - sent, sent);
  return sent;
}

before(async () => {
  await t.addHosts('a', 'b');
  await t.link('a', 'v0', 'b', 'v1', { macA: MAC_A, macB: MAC_B });
  // Quiet links: no IPv6 autoconfiguration chatter in the counts.
  for (const [h, i] of [['a', 'v0'], ['b', 'v1']] as const) await t.sysctl(h, `net.ipv6.conf.${i}.disable_ipv6`, '1');
  A = `/run/netns/${t.ns('a')}`;
  B = `/run/netns/${t.ns('b')}`;
});
after(async () => {
  for (const s of open) s.close();
  await t.cleanup();
});

test('frames sent from ns a arrive in ns b in batches (count > 1 in one recv), in order, with packet type and ifindex', async () => {
  const tx = sock('a', 'v0');
  const rx = sock('b', 'v1', { rcvbufBytes: 4 << 20 }); // room for all 200 frames before the first recv
  const rb = rx.attachRx(allocRxBatch(64, 2048));
  const t0 = allocTxBatch(200);
  tx.attachTx(t0);
  frames(t0, 200, MAC_B, MAC_A);
  assert.equal(sendAll(tx, 200), 200);
  await new Promise((r) => setTimeout(r, 50));
  const counts: number[] = [];
  const seqs: number[] = [];
  for (let k = 0; k < 20; k++) {
    const n = rx.recvBatch();
    if (n === 0) break;
    counts.push(n);
    for (let i = 0; i < n; i++) {
      assert.equal(rb.lengths[i], 60);
      assert.equal(rb.meta[i * META_STRIDE + META_PKTTYPE], PKT_HOST);
      assert.equal(rb.meta[i * META_STRIDE + META_IFINDEX], rx.ifindex);
      seqs.push(Buffer.from(rb.buf.buffer, rb.buf.byteOffset).readUInt32BE(rb.offsets[i]! + 14));
    }
  }
  assert.deepEqual(counts, [64, 64, 64, 8], 'one recvmmsg returns a full batch');
  assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(rx.recvBatch(), 0);
  assert.equal(rx.lastErrno, 11, 'EAGAIN when drained, never thrown');
  assert.deepEqual(rx.stats(), { packets: 200, drops: 0, freezes: 0 });
  // recv(max) caps one call.
  frames(t0, 10, 'ff:ff:ff:ff:ff:ff', MAC_A);
  assert.equal(sendAll(tx, 10), 10);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(rx.recvBatch(3), 3);
  assert.equal(rb.meta[META_PKTTYPE], PKT_BROADCAST);
  assert.equal(rx.recvBatch(), 7);
});

test('start(onReadable) fires from the event loop; the drain gets every frame; stop() silences it', async () => {
  const tx = sock('a', 'v0');
  const rx = sock('b', 'v1');
  rx.attachRx();
  const t0 = allocTxBatch(100);
  tx.attachTx(t0);
  let got = 0;
  let calls = 0;
  rx.start(() => {
    calls++;
    for (let n = rx.recvBatch(); n > 0; n = rx.recvBatch()) got += n;
  });
  for (let round = 0; round < 5; round++) {
    frames(t0, 100, MAC_B, MAC_A, { start: round * 100 });
    assert.equal(sendAll(tx, 100), 100);
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(() => got === 500, 2000, 10, 'all 500 frames');
  assert.ok(calls >= 1 && calls <= 500, `callbacks: ${calls}`);
  rx.stop();
  const before = calls;
  frames(t0, 10, MAC_B, MAC_A);
  sendAll(tx, 10);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, before, 'no callback after stop()');
  assert.equal(rx.recvBatch(), 10, 'frames wait in the socket');
  rx.start(() => { calls++; while (rx.recvBatch() > 0); });
  sendAll(tx, 10);
  await waitFor(() => calls > before, 2000, 10, 'callback after restart');
  rx.close();
});

test('close() from inside onReadable is safe, and the socket is then inert', async () => {
  const tx = sock('a', 'v0');
  const rx = sock('b', 'v1');
  rx.attachRx();
  const t0 = allocTxBatch(10);
  tx.attachTx(t0);
  let calls = 0;
  rx.start(() => {
    calls++;
    rx.recvBatch();
    rx.close();
    rx.close();
  });
  frames(t0, 10, MAC_B, MAC_A);
  assert.equal(sendAll(tx, 10), 10);
  await waitFor(() => calls > 0, 2000, 5, 'first callback');
  sendAll(tx, 10);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 1);
  assert.equal(rx.closed, true);
  assert.equal(rx.recvBatch(), 0);
});

test('PACKET_FANOUT spreads frames over two sockets: lb alternates, hash keeps each flow on one socket', async () => {
  const tx = sock('a', 'v0');
  const t0 = allocTxBatch(256);
  tx.attachTx(t0);
  const group = 0x4000 + (process.pid & 0xfff);
  const lb = [sock('b', 'v1', { fanout: { group, mode: 'lb' } }), sock('b', 'v1', { fanout: { group, mode: 'lb' } })];
  for (const s of lb) s.attachRx(allocRxBatch(256, 256));
  frames(t0, 200, MAC_B, MAC_A);
  assert.equal(sendAll(tx, 200), 200);
  await new Promise((r) => setTimeout(r, 50));
  const lbCounts = lb.map((s) => { let c = 0; for (let n = s.recvBatch(); n > 0; n = s.recvBatch()) c += n; return c; });
  assert.deepEqual(lbCounts, [100, 100], `lb: ${lbCounts}`);
  for (const s of lb) s.close();

  const hash = [sock('b', 'v1', { fanout: { group: group + 1, mode: 'hash' } }), sock('b', 'v1', { fanout: { group: group + 1, mode: 'hash' } })];
  const bats = hash.map((s) => s.attachRx(allocRxBatch(256, 256)));
  frames(t0, 256, MAC_B, MAC_A, { ipv4Flows: 32 });
  assert.equal(sendAll(tx, 256), 256);
  await new Promise((r) => setTimeout(r, 50));
  const flowsOf = hash.map((s, k) => {
    const flows = new Set<number>();
    for (let n = s.recvBatch(); n > 0; n = s.recvBatch()) {
      for (let i = 0; i < n; i++) flows.add(bats[k]!.buf[bats[k]!.offsets[i]! + 35]! | ((bats[k]!.buf[bats[k]!.offsets[i]! + 34]! & 0xf) << 8));
    }
    return flows;
  });
  assert.equal(flowsOf[0]!.size + flowsOf[1]!.size, 32, 'each flow seen by exactly one socket');
  assert.ok(flowsOf[0]!.size > 0 && flowsOf[1]!.size > 0, `both sockets get flows: ${flowsOf[0]!.size}/${flowsOf[1]!.size}`);
});

test('multicast and promiscuous membership are set on the interface and dropped on leave/close', async () => {
  const rx = sock('b', 'v1', { promisc: true, multicast: ['01:00:5e:00:00:12'] });
  const maddr = async () => (await t.ok('b', ['ip', 'maddr', 'show', 'dev', 'v1'])).toLowerCase();
  const promiscuity = async () => (JSON.parse(await t.ok('b', ['ip', '-d', '-j', 'link', 'show', 'v1'])) as { promiscuity: number }[])[0]!.promiscuity;
  assert.match(await maddr(), /01:00:5e:00:00:12/);
  assert.equal(await promiscuity(), 1);
  rx.joinMulticast('33:33:00:00:00:12');
  assert.match(await maddr(), /33:33:00:00:00:12/);
  rx.leaveMulticast('33:33:00:00:00:12');
  assert.doesNotMatch(await maddr(), /33:33:00:00:00:12/);
  // Frames to the group arrive marked multicast.
  rx.attachRx();
  const tx = sock('a', 'v0');
  const t0 = allocTxBatch(4);
  tx.attachTx(t0);
  frames(t0, 4, '01:00:5e:00:00:12', MAC_A);
  assert.equal(sendAll(tx, 4), 4);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(rx.recvBatch(), 4);
  assert.equal(rx.rxBatch!.meta[META_PKTTYPE], PKT_MULTICAST);
  rx.close();
  assert.doesNotMatch(await maddr(), /01:00:5e:00:00:12/);
  assert.equal(await promiscuity(), 0);
});

test('TPACKET_V3 ring: zero-copy frames with offsets into the mapped ring, blocks handed back', async () => {
  const tx = sock('a', 'v0');
  const rx = sock('b', 'v1', { ring: { blockSize: 1 << 16, blockCount: 8, retireMs: 1 } });
  const rb = rx.attachRx(undefined, 64);
  assert.equal(rb.buf.byteLength, (1 << 16) * 8);
  const t0 = allocTxBatch(200);
  tx.attachTx(t0);
  const seqs: number[] = [];
  for (let round = 0; round < 10; round++) { // 2000 frames through a 512 KiB ring: blocks must be recycled
    frames(t0, 200, MAC_B, MAC_A, { start: round * 200, len: 200 });
    assert.equal(sendAll(tx, 200), 200);
    const want = (round + 1) * 200;
    await waitFor(() => {
      for (let n = rx.recvBatch(); n > 0; n = rx.recvBatch()) {
        for (let i = 0; i < n; i++) {
          assert.equal(rb.lengths[i], 200);
          assert.equal(rb.meta[i * META_STRIDE + META_PKTTYPE], PKT_HOST);
          const o = rb.offsets[i]!;
          seqs.push((rb.buf[o + 14]! << 24) | (rb.buf[o + 15]! << 16) | (rb.buf[o + 16]! << 8) | rb.buf[o + 17]!);
        }
      }
      return seqs.length >= want;
    }, 2000, 5, `ring round ${round}`);
  }
  assert.deepEqual(seqs, Array.from({ length: 2000 }, (_, i) => i));
  assert.equal(rx.stats().drops, 0);
  rx.close();
  rx.close();
  assert.equal(rx.recvBatch(), 0, 'ringNext after close returns 0');
});

test('PACKET_AUXDATA status and truncation flag: a frame longer than its slot is cut and flagged', async () => {
  const tx = sock('a', 'v0');
  const rx = sock('b', 'v1', { auxdata: true });
  const rb = rx.attachRx(allocRxBatch(8, 64));
  const t0 = allocTxBatch(2);
  tx.attachTx(t0);
  frames(t0, 2, MAC_B, MAC_A, { len: 100 });
  t0.lengths[1] = 64;
  assert.equal(sendAll(tx, 2), 2);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(rx.recvBatch(), 2);
  assert.equal(rb.lengths[0], 64);
  assert.ok((rb.meta[META_STATUS]! & STATUS_TRUNCATED) !== 0);
  assert.equal(rb.meta[META_STRIDE + META_STATUS]! & STATUS_TRUNCATED, 0);
});

test('bad arguments throw TypeError/RangeError with codes; kernel refusals carry errno; closing twice is safe', async () => {
  const n = loadNative();
  const ifindex = inB(() => ifFacts('v1').index);
  assert.throws(() => new n.PacketSocket('x' as unknown as number), { name: 'TypeError', code: 'ERR_NATIVE_INVALID_ARG' });
  assert.throws(() => new n.PacketSocket(0), { name: 'RangeError', code: 'ERR_NATIVE_OUT_OF_RANGE' });
  assert.throws(() => new n.PacketSocket(ifindex, { vnetHdr: 1 as unknown as boolean }), { name: 'TypeError', code: 'ERR_NATIVE_INVALID_ARG', message: /vnetHdr/ });
  assert.throws(() => new n.PacketSocket(ifindex, { fanout: { group: 1, mode: 'fast' as 'lb' } }), { code: 'ERR_NATIVE_INVALID_ARG', message: /fanout\.mode/ });
  assert.throws(() => new n.PacketSocket(ifindex, { fanout: { group: 70000 } }), { code: 'ERR_NATIVE_OUT_OF_RANGE' });
  assert.throws(() => new n.PacketSocket(ifindex, { ring: { blockSize: 1000 } }), { code: 'ERR_NATIVE_OUT_OF_RANGE', message: /blockSize/ });
  assert.throws(() => new n.PacketSocket(ifindex, { protocol: 70000 }), { code: 'ERR_NATIVE_OUT_OF_RANGE' });
  assert.throws(() => inB(() => new n.PacketSocket(99999)), { code: 'ERR_NATIVE_SYSCALL', errnoName: 'ENODEV', syscall: 'bind(AF_PACKET)' });
  assert.throws(() => inB(() => openPacketSocket('nope0')), { code: 'ERR_IO_NO_INTERFACE' });
  assert.throws(() => n.ifInfo('x'.repeat(20)), { code: 'ERR_NATIVE_INVALID_ARG' });
  assert.throws(() => n.setNetns(42 as unknown as string), { code: 'ERR_NATIVE_INVALID_ARG' });
  assert.throws(() => n.setNetns('/nonexistent/netns'), { code: 'ERR_NATIVE_SYSCALL', errnoName: 'ENOENT' });

  const s = inB(() => new n.PacketSocket(ifindex));
  assert.throws(() => s.recv(), { name: 'TypeError', message: /before setRxBuffers/ });
  assert.throws(() => s.send(1), { name: 'TypeError', message: /before setTxBuffers/ });
  assert.throws(() => s.setRxBuffers(Buffer.alloc(100), 32, new Uint32Array(1), new Uint32Array(4)), { name: 'RangeError', message: /slotSize/ });
  assert.throws(() => s.setRxBuffers(new Uint16Array(100) as unknown as Uint8Array, 64, new Uint32Array(1), new Uint32Array(4)), { name: 'TypeError', message: /buf/ });
  assert.throws(() => s.setRxBuffers(Buffer.alloc(128), 64, new Int32Array(2) as unknown as Uint32Array, new Uint32Array(8)), { name: 'TypeError', message: /lengths/ });
  assert.throws(() => s.setRxBuffers(Buffer.alloc(128), 64, new Uint32Array(2), new Uint32Array(3)), { name: 'RangeError', message: /no frame/ });
  assert.equal(s.setRxBuffers(Buffer.alloc(64 * 10), 64, new Uint32Array(4), new Uint32Array(40)), 4, 'the smallest array bounds the batch');
  s.setTxBuffers(Buffer.alloc(100), Uint32Array.of(50), Uint32Array.of(60));
  assert.throws(() => s.send(1), { name: 'RangeError', code: 'ERR_NATIVE_OUT_OF_RANGE', message: /outside the transmit buffer/ });
  assert.throws(() => s.send(2), { name: 'RangeError', message: /exceeds/ });
  assert.throws(() => s.send(-1), { name: 'TypeError' });
  assert.throws(() => s.addMembership('multicast', Uint8Array.of(2, 0, 0, 0, 0, 1)), { code: 'ERR_NATIVE_OUT_OF_RANGE', message: /multicast/ });
  assert.throws(() => s.addMembership('bogus' as 'promisc'), { code: 'ERR_NATIVE_INVALID_ARG' });
  assert.throws(() => s.start('no' as unknown as () => void), { code: 'ERR_NATIVE_INVALID_ARG' });
  assert.throws(() => s.ringBuffer(), { message: /without options\.ring/ });
  assert.throws(() => (n.PacketSocket.prototype.recv as () => number).call({}), { name: 'TypeError' }); // V8's receiver check
  assert.throws(() => (n.PacketSocket as unknown as (i: number) => void)(1), { code: 'ERR_NATIVE_INVALID_ARG', message: /new/ });
  s.close();
  s.close();
  assert.equal(s.closed, true);
  assert.equal(s.recv(), 0);
  assert.equal(s.lastErrno, 9, 'EBADF after close');
  assert.throws(() => s.start(() => {}), { code: 'ERR_NATIVE_SYSCALL', errnoName: 'EBADF' });
  s.stop();
});

test('worker threads: each thread has its own addon state and netns; a polling socket dies cleanly with its worker', async () => {
  const addonPath = join(process.cwd(), 'native/build/Release/lvsd_native.node');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const n = require(workerData.addon);
    n.setNetns(workerData.ns);
    const { index } = n.ifInfo('v1');
    const s = new n.PacketSocket(index);
    n.setNetns(null);
    const buf = Buffer.alloc(64 * 2048), len = new Uint32Array(64), meta = new Uint32Array(256);
    s.setRxBuffers(buf, 2048, len, meta);
    let got = 0;
    s.start(() => { for (let k = s.recv(); k > 0; k = s.recv()) got += k; if (got >= workerData.want) parentPort.postMessage(got); });
    parentPort.postMessage('ready');
  `;
  const tx = sock('a', 'v0');
  const t0 = allocTxBatch(50);
  tx.attachTx(t0);
  const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { addon: addonPath, ns: B, want: 50 } }));
  try {
    const results = workers.map((w) => new Promise<number>((res, rej) => {
      w.on('message', (m) => { if (typeof m === 'number') res(m); });
      w.on('error', rej);
    }));
    await Promise.all(workers.map((w) => new Promise<void>((res) => w.once('message', () => res()))));
    frames(t0, 50, MAC_B, MAC_A);
    assert.equal(sendAll(tx, 50), 50);
    const got = await Promise.race([Promise.all(results), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('workers timed out')), 5000))]);
    assert.deepEqual(got, [50, 50], 'both workers (each with its own socket) got every frame');
  } finally {
    // Terminating a worker whose socket is still polling runs the addon's async cleanup hook.
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    assert.deepEqual(codes, [1, 1]);
  }
  // The main thread's addon state was not disturbed.
  assert.equal(inB(() => ifFacts('v1').macText), MAC_B);
});

test('sdNotify delivers a datagram to NOTIFY_SOCKET and is false without one', async () => {
  const n = loadNative();
  const dir = mkdtempSync(join(tmpdir(), 'lvt-io-sd-'));
  const path = join(dir, 'notify.sock');
  const py = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('ready', flush=True)
s.settimeout(5); print(s.recv(4096).decode(), flush=True)`, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    py.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('ready'), 5000, 10, 'python listener');
    const saved = process.env['NOTIFY_SOCKET'];
    process.env['NOTIFY_SOCKET'] = path;
    try {
      assert.equal(n.sdNotify('READY=1\nSTATUS=lvt-io'), true);
    } finally {
      if (saved === undefined) delete process.env['NOTIFY_SOCKET'];
      else process.env['NOTIFY_SOCKET'] = saved;
    }
    await waitFor(() => out.includes('STATUS=lvt-io'), 5000, 10, 'datagram received');
    assert.match(out, /READY=1\nSTATUS=lvt-io/);
    delete process.env['NOTIFY_SOCKET'];
    assert.equal(n.sdNotify('READY=1'), false);
    if (saved !== undefined) process.env['NOTIFY_SOCKET'] = saved;
  } finally {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
