/**
 * A forwarding worker thread (ARCHITECTURE D5): the composition root of one data-plane
 * thread. It opens one AF_PACKET socket per interface (PACKET_VNET_HDR so GSO super-frames
 * and partial checksums pass through; PACKET_FANOUT when there are several workers), runs
 * the pure Pipeline over batches (recvmmsg in, sendmmsg out), and talks to the main thread
 * by messages (src/forward/messages.ts) and the shared counters. This is the one file of
 * forward/ that touches I/O (src/io/af-packet.ts) and reads the clock.
 *
 * Memory: one Buffer per worker holds every socket's receive slots and the scratch area;
 * each socket's transmit arrays point into that same Buffer, so a frame rewritten in place
 * is sent from where it was received, whichever socket it leaves by (no copy).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openPacketSocket, inNetns, VNET_HDR_LEN, META_STRIDE, type PacketSocket, type PacketSocketOptions, type RxBatch } from '../io/af-packet.js';
import { hugeAlloc, setThreadName } from '../io/huge.js';
import { parseIPv6 } from '../lib/ip.js';
import { A_TX, A_TX_MULTI, MAX_MULTI, Pipeline, SCRATCH_FRAME, TUN_HEADROOM } from './pipeline.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';
import { statsRegion } from './stats.js';
// This file is the worker thread's composition root: it may wire in connection sync.
import { WorkerSync } from '../sync/worker-sync.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const io = init.io;
/** Receive from a ring (frames copied into the slots) rather than with recvmmsg. */
const ringRxPath = io.rx !== 'recvmmsg';
setThreadName(`lvsd-fwd-${init.index}`);
const post = (m: FromWorker) => port.postMessage(m);

/** Receive slot: a whole GSO super-frame (64 KiB IP packet, Ethernet and VLAN headers, virtio header). */
const SLOT = 65536 + 64;
/** Each slot starts with this much room before its frame: TUN's outer headers go there (no copy of the frame). */
const HEAD = TUN_HEADROOM;
/** Distance between slots. */
const STRIDE = HEAD + SLOT;
/** TUN's segment area: one GSO super-frame cut into segments (or an outer packet in fragments) at a time. */
const SEG_AREA = 512 * 1024;
void VNET_HDR_LEN;

const pl = new Pipeline({
  capacity: init.capacity,
  tickMs: init.tickMs,
  seed: init.seed,
  stats: statsRegion(init.stats, init.layout, init.index),
  alloc: io.hugePages ? hugeAlloc() ?? undefined : undefined,
  headroom: HEAD,
  workerIndex: init.index,
  workers: init.workers,
});
pl.setInterfaces(init.ifaces);

const nIf = init.ifaces.length;
const batch = init.batch;
const rxBytes = nIf * batch * STRIDE;
const scratchFrames = batch * 2;
const scratchBytes = scratchFrames * SCRATCH_FRAME;
const mem = Buffer.alloc(rxBytes + HEAD + scratchBytes + SEG_AREA);
pl.setScratch(rxBytes + HEAD, rxBytes + HEAD + scratchBytes);
pl.setSegArea(rxBytes + HEAD + scratchBytes, mem.length);
const sockets: PacketSocket[] = [];
const rx: RxBatch[] = [];
const txOff: Uint32Array[] = [];
const txLen: Uint32Array[] = [];
const txCount = new Int32Array(nIf);
/** Ring mode: each socket's ring view, and the same memory as a Buffer for copy(). */
const ringRx: RxBatch[] = [];
const ringBuf: Buffer[] = [];
const t0 = performance.now();

function nowTick(): number {
  return Math.floor((performance.now() - t0) / init.tickMs) + 1;
}

/** Receive ring of each path (docs/forwarding.md "Receive path"). */
function ringOption(): PacketSocketOptions['ring'] {
  // docs/native.md "recvmmsg against TPACKET_V3": the ring halves the machine's CPU per frame,
  // but a V3 block waits for its retire timer (≥ 1 ms) at request/response rates.
  if (io.rx === 'v3') return { version: 3, blockSize: 1 << 20, blockCount: 32, retireMs: 1 };
  // V2: per-frame status, handed over at once; 256 frames of 68 KiB (a GSO super-frame fits).
  if (io.rx === 'v2') return { version: 2, frameCount: 256 };
  return undefined;
}

function open(): void {
  for (let k = 0; k < nIf; k++) {
    const name = init.ifaces[k]!.name;
    const s = openPacketSocket(name, {
      vnetHdr: true,
      rcvbufBytes: 16 << 20,
      sndbufBytes: 16 << 20,
      qdiscBypass: io.qdiscBypass,
      txRing: io.txRing && io.rx !== 'v3' ? { frameCount: 1024 } : undefined,
      // Several workers: the model's cBPF program keeps a client's flows, both directions and
      // its persistence templates on one worker (fanout-program.ts); one group per interface.
      fanout: init.workers > 1 ? { group: (init.fanoutGroup + k) & 0xffff, mode: 'cbpf' } : undefined,
      ring: ringOption(),
    });
    sockets.push(s);
    if (init.workers > 1 && init.fanoutProgram) s.setFanoutProgram(init.fanoutProgram);
    const base = k * batch * STRIDE;
    if (ringRxPath) {
      // V2: at most half the ring per call: the frames of a call stay the worker's until the
      // next one, and the kernel drops what arrives at a frame still held.
      const rb = s.attachRx(undefined, io.rx === 'v2' ? 128 : 4096);
      ringRx.push(rb);
      ringBuf.push(Buffer.from(rb.buf.buffer, rb.buf.byteOffset, rb.buf.byteLength));
    }
    const offsets = new Uint32Array(batch);
    for (let i = 0; i < batch; i++) offsets[i] = i * STRIDE;
    // Frame i lands at base + HEAD + i * STRIDE: HEAD free bytes before each one.
    const b: RxBatch = {
      buf: mem.subarray(base + HEAD, base + HEAD + batch * STRIDE),
      offsets,
      lengths: new Uint32Array(batch),
      meta: new Uint32Array(batch * META_STRIDE),
      capacity: batch,
    };
    rx.push(ringRxPath ? b : s.attachRx(b));
    const cap = batch + scratchFrames + MAX_MULTI;
    txOff.push(new Uint32Array(cap));
    txLen.push(new Uint32Array(cap));
    s.attachTx({ buf: mem, offsets: txOff[k]!, lengths: txLen[k]! });
  }
}

function flush(): void {
  for (let j = 0; j < nIf; j++) {
    const n = txCount[j]!;
    if (n === 0) continue;
    let sent = 0;
    // sendmmsg may take part of a batch when the socket's queue is full: retry a few times.
    for (let tries = 0; tries < 4 && sent < n; tries++) sent += sockets[j]!.sendBatch(n - sent, sent);
    if (sent < n) pl.count('tx_short', n - sent);
    txCount[j] = 0;
  }
}

/** Drains socket k: bounded rounds so one busy interface cannot starve the others or the messages. */
function drain(k: number): void {
  if (ringRxPath) return drainRing(k);
  const s = sockets[k]!;
  const b = rx[k]!;
  const base = k * batch * STRIDE + HEAD;
  pl.count('wakeups');
  for (let round = 0; round < 64; round++) {
    const n = s.recvBatch();
    if (n === 0) break;
    pl.count('rx_batches');
    const now = nowTick();
    pl.resetScratch();
    const lengths = b.lengths;
    for (let i = 0; i < n; i++) handle(base + i * STRIDE, lengths[i]!, k, now);
    flush();
    if (n < batch && !io.drainAll) break;
  }
}

function handle(off: number, len: number, k: number, now: number): void {
  const act = pl.process(mem, off, len, true, k, now);
  if (act === A_TX) {
    const j = pl.outIf;
    const c = txCount[j]!;
    txOff[j]![c] = pl.outOff;
    txLen[j]![c] = pl.outLen;
    txCount[j] = c + 1;
  } else if (act === A_TX_MULTI) {
    // Segments (or fragments) in the segment area: queued after what came before, and sent
    // now, since the next frame that needs the area overwrites it.
    const j = pl.outIf;
    let c = txCount[j]!;
    const offs = txOff[j]!;
    const lens = txLen[j]!;
    for (let i = 0; i < pl.outCount; i++, c++) {
      offs[c] = pl.outOffs[i]!;
      lens[c] = pl.outLens[i]!;
    }
    txCount[j] = c;
    flush();
  }
}

/**
 * Ring mode: a retired block's frames are copied (Buffer.copy, native, no allocation) into
 * the worker's slots `batch` at a time and processed there, so the transmit path and the
 * scratch area stay those of the slot buffer; the receive syscalls are gone.
 */
function drainRing(k: number): void {
  const s = sockets[k]!;
  const r = ringRx[k]!;
  const src = ringBuf[k]!;
  const base = k * batch * STRIDE + HEAD;
  let got = 0;
  pl.count('wakeups');
  for (let round = 0; round < 64; round++) {
    let n = s.recvBatch();
    if (n === 0 && got > 0 && io.spinUs > 0) {
      // Busy-poll: a reply usually follows within microseconds; catching it here saves an
      // epoll sleep and wake-up (tried: no gain on 2 shared vCPUs, docs/decisions/forwarding-receive-path.md).
      const end = performance.now() + io.spinUs / 1000;
      while (n === 0 && performance.now() < end) n = s.recvBatch();
    }
    if (n === 0) break;
    pl.count('rx_batches');
    got += n;
    const now = nowTick();
    for (let first = 0; first < n; first += batch) {
      const m = Math.min(batch, n - first);
      pl.resetScratch();
      for (let i = 0; i < m; i++) {
        const len = Math.min(r.lengths[first + i]!, SLOT);
        const o = r.offsets[first + i]!;
        src.copy(mem, base + i * STRIDE, o, o + len);
        handle(base + i * STRIDE, len, k, now);
      }
      flush();
    }
  }
}

/** Solicited-node multicast MAC (RFC 4291 §2.7.1, RFC 2464 §7) of an IPv6 address. */
function solicitedNodeMac(addr: string): string | null {
  const b = parseIPv6(addr);
  if (!b) return null;
  return `33:33:ff:${[b[13]!, b[14]!, b[15]!].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

function onMessage(m: ToWorker): void {
  switch (m.type) {
    case 'model':
      pl.applyModel(m.model, m.slots);
      if (init.workers > 1 && m.fanoutProgram) {
        // The group's program follows the model (NAT real servers, granularity); any member may set it.
        for (const s of sockets) {
          try { s.setFanoutProgram(m.fanoutProgram); } catch (e) { post({ type: 'error', index: init.index, message: `fanout program: ${e instanceof Error ? e.message : String(e)}` }); }
        }
      }
      if (pl.problems.length) post({ type: 'problems', index: init.index, problems: pl.problems });
      break;
    case 'claim':
      pl.setClaim(m.instance, m.vips, m.claimed);
      for (const v of m.vips) {
        if (v.family !== 'ipv6') continue;
        const k = init.ifaces.findIndex((i) => i.name === v.interface);
        const mac = solicitedNodeMac(v.address);
        if (k < 0 || !mac) continue;
        try {
          if (m.claimed) sockets[k]!.joinMulticast(mac);
          else sockets[k]!.leaveMulticast(mac);
        } catch {
          /* membership is best effort: veth delivers multicast anyway */
        }
      }
      break;
    case 'health':
      pl.setRealHealth(m.service, m.real, m.health);
      break;
    case 'quorum':
      pl.setServiceQuorum(m.service, m.up);
      break;
    case 'neigh':
      pl.setNeighbour(m.address, m.mac);
      break;
    case 'route':
      pl.setRoute(m.address, m.route);
      break;
    case 'trace':
      pl.now = nowTick();
      post({ type: 'trace', id: m.id, result: pl.trace(m.proto, m.src, m.sport, m.dst, m.dport) });
      break;
    case 'conns': {
      pl.now = nowTick();
      const rows = pl.listConns(m.limit);
      post({ type: 'conns', id: m.id, rows, total: pl.conns.size, index: init.index });
      break;
    }
    case 'sync':
      // Connection sync (src/sync/worker-sync.ts): the pipeline tells it of client packets.
      if (m.ring === null) {
        sync = null;
        pl.syncSink = null;
      } else if (sync && sync.ring.sab === m.ring) {
        sync.set(m);
      } else {
        sync = new WorkerSync(pl, { ring: m.ring, master: m.master, rules: m.rules });
        pl.syncSink = sync;
      }
      break;
    case 'sync-conns':
      if (sync) sync.apply(m.bytes, nowTick());
      break;
    case 'stop':
      stop();
      break;
  }
}

let sync: WorkerSync | null = null;

let timer: NodeJS.Timeout | null = null;

function stop(): void {
  if (timer) clearInterval(timer);
  timer = null;
  for (const s of sockets) {
    s.stop();
    s.close();
  }
  sockets.length = 0;
  post({ type: 'stopped', index: init.index });
  port.off('message', onMessage);
  port.close();
}

try {
  if (init.netns) inNetns(init.netns, open);
  else open();
  port.on('message', onMessage);
  for (let k = 0; k < nIf; k++) sockets[k]!.start(() => drain(k));
  timer = setInterval(() => {
    pl.advance(nowTick());
    pl.publishGauges();
    if (pl.needNeighbour) {
      const requests = pl.takeNeighbourRequests();
      if (requests.length) post({ type: 'neigh-request', index: init.index, requests });
    }
    for (const s of sockets) {
      const st = s.stats();
      if (st.drops) pl.count('rx_kernel_drops', st.drops);
    }
  }, 100);
  post({ type: 'ready', index: init.index, ring: ringRxPath, vnet: sockets.every((s) => s.vnetHdr) });
} catch (e) {
  post({ type: 'error', index: init.index, message: e instanceof Error ? e.message : String(e) });
  for (const s of sockets) s.close();
  port.close();
}
