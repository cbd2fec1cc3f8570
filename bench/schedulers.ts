/**
 * Scheduler pick rate: picks per second of every scheduler with 8 and 64 dests, one core.
 *
 *   node --import tsx bench/schedulers.ts [--ms 300] [--json]
 *
 * Setup per run: weights 1..4, counters at a random steady state (activeconns 0..99,
 * inactconns 0..999), one dest in eight overloaded (so rr/wrr skip it and sh/mh with their
 * fallback flags probe past it), 4,096 distinct client flows to 64 VIPs (dh, lblc and
 * lblcr key on the VIP). The timed loop is only `pick()`; each figure is the best of three
 * timed windows of `--ms` after a warm-up.
 */
import { createScheduler, schedulerNames } from '../src/forward/schedulers/index.js';
import type { Dest, FlowKey } from '../src/forward/schedulers/types.js';

interface Options {
  ms: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { ms: 300, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ms') o.ms = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** Mulberry32, so every run sees the same counters. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeDests(n: number, rnd: () => number): Dest[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    key: `198.18.${1 + (i >> 8)}.${i & 255}:80`,
    addr4: (0xc6120100 + i) >>> 0,
    addr6: null,
    port: 80,
    weight: 1 + (i % 4),
    activeConns: Math.floor(rnd() * 100),
    inactiveConns: Math.floor(rnd() * 1000),
    persistConns: 0,
    overloaded: i % 8 === 3,
  }));
}

function makeFlows(): FlowKey[] {
  return Array.from({ length: 4096 }, (_, i) => ({
    family: 'ipv4' as const,
    srcAddr4: (0xc6128000 + ((i * 2654435761) % 32768)) >>> 0,
    srcAddr6: null,
    srcPort: 1024 + i,
    dstAddr4: (0xc6120000 + (i % 64)) >>> 0,
    dstAddr6: null,
    dstPort: 80,
    proto: 6,
  }));
}

function measure(name: string, n: number, ms: number): number {
  const rnd = seeded(n * 31 + name.length);
  const s = createScheduler(name, { flags: { shFallback: true, shPort: false, mhFallback: true, mhPort: false }, random: rnd });
  s.update(makeDests(n, rnd));
  const flows = makeFlows();
  let sink = 0;
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const d = s.pick(flows[i & 4095]!, 1000);
      if (d !== null) sink += d.index;
    }
  };
  run(200_000); // warm-up: JIT, caches
  let best = 0;
  for (let w = 0; w < 3; w++) {
    let picks = 0;
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(ms) * 1_000_000n;
    let t = t0;
    while (t < until) {
      run(50_000);
      picks += 50_000;
      t = process.hrtime.bigint();
    }
    const rate = picks / (Number(t - t0) / 1e9);
    if (rate > best) best = rate;
  }
  if (sink === -1) console.log('');
  return best;
}

const opts = parseArgs(process.argv.slice(2));
const rows: { scheduler: string; picksPerS8: number; picksPerS64: number }[] = [];
for (const name of schedulerNames) {
  rows.push({ scheduler: name, picksPerS8: measure(name, 8, opts.ms), picksPerS64: measure(name, 64, opts.ms) });
}
if (opts.json) {
  console.log(JSON.stringify({ bench: 'schedulers', node: process.version, rows }, null, 2));
} else {
  const fmt = (r: number) => `${(r / 1e6).toFixed(2)} M/s`.padStart(12);
  console.log(`scheduler picks/s (node ${process.version}, one core, best of 3 × ${opts.ms} ms)`);
  console.log(`${'scheduler'.padEnd(10)}${'8 dests'.padStart(12)}${'64 dests'.padStart(12)}`);
  for (const r of rows) console.log(`${r.scheduler.padEnd(10)}${fmt(r.picksPerS8)}${fmt(r.picksPerS64)}`);
}
