/**
 * Receive-path benchmark: recvmmsg batches against the TPACKET_V3 ring, on a veth pair
 * between two namespaces, with a sendmmsg blaster (this addon) in the other namespace.
 *
 *   node --import tsx bench/io-rx.ts [--seconds 3] [--sizes 60,1514] [--repeat 3] [--json]
 *
 * Runs of the two paths are interleaved and repeated; the table shows the median of each
 * figure with the range of frames/s, because the machine is shared and noisy.
 * For each frame size and receive path it reports frames/s received, kernel drops, the
 * receiver process's CPU per frame, and the whole machine's CPU per frame (from /proc/stat:
 * with veth the kernel's per-frame receive work — including the ring's copy — runs in
 * softirq on the sender's CPU, so only the machine-wide figure compares the two paths
 * fairly). The blaster is pinned to CPU 0 and the receiver to CPU 1 when there are two.
 * Needs root. Namespaces are prefixed lvt-io-* and removed on exit.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Topology } from '../test/netns/lib/netns.js';
import { allocRxBatch, allocTxBatch, inNetns, openPacketSocket, type PacketSocketOptions } from '../src/io/af-packet.js';

const MAC_A = '02:50:00:00:00:0a';
const MAC_B = '02:50:00:00:00:0b';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Child mode: blast frames of `len` bytes out of ifname in netns for `seconds`, print a JSON summary. */
function blast(ns: string, ifname: string, seconds: number, len: number): void {
  const s = inNetns(ns, () => openPacketSocket(ifname, { protocol: 0 }));
  const n = 256;
  const tx = allocTxBatch(n, n * 2048);
  const dst = MAC_B.split(':').map((x) => parseInt(x, 16));
  const src = MAC_A.split(':').map((x) => parseInt(x, 16));
  for (let i = 0; i < n; i++) {
    const o = i * 2048;
    tx.offsets[i] = o;
    tx.lengths[i] = len;
    tx.buf.set(dst, o);
    tx.buf.set(src, o + 6);
    tx.buf[o + 12] = 0x88; // local experimental ethertype: no kernel handler, the tap is the only reader
    tx.buf[o + 13] = 0xb5;
  }
  s.attachTx(tx);
  let sent = 0;
  let calls = 0;
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  for (;;) {
    const k = s.sendBatch(n);
    sent += k;
    if (k < n) refused++;
    if ((++calls & 255) === 0 && performance.now() > end) break;
  }
  process.stdout.write(JSON.stringify({ sent, calls, refused, seconds }) + '\n');
  s.close();
}

interface Row {
  size: number;
  path: string;
  framesPerS: number;
  blasterFramesPerS: number;
  kernelDrops: number;
  rxNsPerFrame: number;
  systemNsPerFrame: number;
  framesPerWakeup: number;
}

function systemBusyTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

async function measure(t: Topology, size: number, path: 'recvmmsg' | 'ring', seconds: number): Promise<Row> {
  const B = `/run/netns/${t.ns('b')}`;
  const opts: PacketSocketOptions = path === 'ring' ? { ring: { blockSize: 1 << 20, blockCount: 64, retireMs: 1 } } : { rcvbufBytes: 64 << 20 };
  const rx = inNetns(B, () => openPacketSocket('v1', opts));
  const batch = path === 'ring' ? rx.attachRx(undefined, 1024) : rx.attachRx(allocRxBatch(64, 2048));
  let frames = 0;
  let bytes = 0;
  let wakeups = 0;
  rx.start(() => {
    wakeups++;
    for (let n = rx.recvBatch(); n > 0; n = rx.recvBatch()) {
      frames += n;
      bytes += batch.lengths[0]!; // touch the data as a consumer would
    }
  });
  const warmupS = 0.5;
  const here = fileURLToPath(import.meta.url);
  const pin = cpus().length >= 2 ? ['taskset', '-c', '0'] : [];
  const child = spawn(pin.length ? pin[0]! : process.execPath, [...pin.slice(1), ...(pin.length ? [process.execPath] : []), '--import', 'tsx', here, '--blast', `/run/netns/${t.ns('a')}`, 'v0', String(seconds + warmupS + 0.5), String(size)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<void>((res) => child.once('exit', () => res()));
  // Wait for the first frames, then a warm-up, then measure.
  const t0 = Date.now();
  while (frames === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, warmupS * 1000));
  rx.stats();
  const f0 = frames;
  const w0 = wakeups;
  const c0 = process.cpuUsage();
  const s0 = systemBusyTicks();
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsedS = (performance.now() - start) / 1000;
  const f1 = frames;
  const c1 = process.cpuUsage(c0);
  const s1 = systemBusyTicks();
  const st = rx.stats();
  await done;
  rx.close();
  const blaster = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { sent: number; seconds: number };
  const got = f1 - f0;
  const tickNs = 1e9 / 100; // USER_HZ
  void bytes;
  return {
    size,
    path,
    framesPerS: got / elapsedS,
    blasterFramesPerS: blaster.sent / blaster.seconds,
    kernelDrops: st.drops,
    rxNsPerFrame: ((c1.user + c1.system) * 1000) / got,
    systemNsPerFrame: ((s1.busy - s0.busy) * tickNs) / got,
    framesPerWakeup: got / Math.max(1, wakeups - w0),
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--blast') {
    blast(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
    return;
  }
  const seconds = Number(arg('seconds', '3'));
  const sizes = arg('sizes', '60,1514').split(',').map(Number);
  const repeat = Number(arg('repeat', '3'));
  const t = new Topology('io');
  const rows: Row[] = [];
  try {
    await t.addHosts('a', 'b');
    await t.link('a', 'v0', 'b', 'v1', { macA: MAC_A, macB: MAC_B });
    for (const [h, i] of [['a', 'v0'], ['b', 'v1']] as const) await t.sysctl(h, `net.ipv6.conf.${i}.disable_ipv6`, '1');
    if (cpus().length >= 2) {
      // The receiver (this process) on CPU 1, away from the blaster and its softirq on CPU 0.
      spawn('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let k = 0; k < repeat; k++) {
      for (const size of sizes) {
        for (const path of ['recvmmsg', 'ring'] as const) rows.push(await measure(t, size, path, seconds));
      }
    }
  } finally {
    await t.cleanup();
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`io-rx: ${seconds} s per run × ${repeat}, veth between namespaces, blaster = sendmmsg × 256 (CPU 0), receiver = uv_poll + drain (CPU 1); medians`);
  console.log('size  path      rx frames/s (min–max)            blaster/s   drops    rx-proc ns/frame  system ns/frame  frames/wakeup');
  for (const size of sizes) {
    for (const path of ['recvmmsg', 'ring']) {
      const rs = rows.filter((r) => r.size === size && r.path === path);
      const f = rs.map((r) => r.framesPerS);
      const col = (k: keyof Row) => median(rs.map((r) => r[k] as number));
      console.log(
        `${String(size).padEnd(5)} ${path.padEnd(9)} ${col('framesPerS').toFixed(0).padStart(9)} (${Math.min(...f).toFixed(0)}–${Math.max(...f).toFixed(0)})`.padEnd(49) +
          `${col('blasterFramesPerS').toFixed(0).padStart(9)}   ${String(col('kernelDrops')).padStart(6)}   ${col('rxNsPerFrame').toFixed(0).padStart(16)}  ${col('systemNsPerFrame').toFixed(0).padStart(15)}  ${col('framesPerWakeup').toFixed(1).padStart(13)}`,
      );
    }
  }
}

await main();
