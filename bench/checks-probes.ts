/**
 * Per-check CPU cost of each way to run a check, measured in isolation (one process, the
 * servers in another): TCP connect (our TcpProbe), HTTP GET through our HttpProbe (one
 * undici Client per checker, pipelining 0), a fresh undici Client per check, and node:http
 * with agent:false as a reference. Runs `--checks` checks with `--concurrency` in flight.
 *
 *   node --import tsx bench/checks-probes.ts [--checks 4000] [--concurrency 20]
 */
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { TcpProbe } from '../src/check/tcp-probe.js';
import { HttpProbe } from '../src/check/http-probe.js';
import { systemClock } from '../src/lib/clock.js';
import { ChildScriptRunner } from '../src/io/script-runner.js';
import type { HttpChecker, TcpChecker } from '../src/model/types.js';

// tsx turns on source-mapped stack traces; the daemon runs compiled JS without them. undici
// builds an Error per closed connection (InformationalError 'reset'), and mapping its stack
// cost ~4 % of a check's CPU in a profile, so measure without it, as the daemon runs.
process.setSourceMapsEnabled(false);

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const N = arg('--checks', 4000);
const C = arg('--concurrency', 20);
const PORTS = 50;

const script = fileURLToPath(new URL('./checks-servers.ts', import.meta.url));
const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const serverArgv = [process.execPath, ...process.execArgv, script, String(PORTS), String(PORTS)];
// servers on CPU 1 when we can pin, so they do not share the measured core
const child = hasTaskset
  ? spawn('taskset', ['-c', '1', ...serverArgv], { stdio: ['pipe', 'pipe', 'inherit'] })
  : spawn(serverArgv[0]!, serverArgv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
const ports = await new Promise<{ tcp: number[]; http: number[] }>((resolve) => {
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += String(d);
    if (buf.includes('\n')) resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
  });
});

const timing = { delayLoopMs: 1000, connectTimeoutMs: 3000, retry: 0, delayBeforeRetryMs: 1000, warmupMs: 0, rise: 1, fall: 1 };
const base = (port: number) => ({ key: `x:${port}`, timing, connectIp: '127.0.0.1', connectPort: port, bindTo: null, bindPort: null, bindIf: null });
const ctx = { clock: systemClock, scripts: new ChildScriptRunner(), warn: () => undefined };

async function measure(name: string, makeRunner: (i: number) => () => Promise<boolean>): Promise<void> {
  const runners = Array.from({ length: PORTS }, (_, i) => makeRunner(i));
  // warm up (JIT): the first thousand checks cost up to twice the steady state
  for (let k = 0; k < 20; k++) await Promise.all(runners.map((r) => r()));
  // three rounds; the cheapest is reported (the machine is shared: noise only adds)
  let best = Infinity;
  let rate = 0;
  let failed = 0;
  for (let round = 0; round < 3; round++) {
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < N) {
          const i = next++;
          if (!(await runners[i % PORTS]!())) failed++;
        }
      }),
    );
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const us = (cpu.user + cpu.system) / N;
    if (us < best) {
      best = us;
      rate = Math.round((N / wall) * 1000);
    }
  }
  console.log(`  ${name.padEnd(48)} ${best.toFixed(0).padStart(5)} µs CPU/check  ${rate} checks/s  ${failed} failed`);
}

console.log(`per-check CPU cost, ${N} checks, ${C} in flight, local servers in another process`);
await measure('TCP_CHECK (TcpProbe)', (i) => {
  const p = new TcpProbe({ ...base(ports.tcp[i]!), kind: 'tcp' } as TcpChecker, ctx);
  return async () => (await p.run()).ok;
});
const httpChecker = (port: number): HttpChecker => ({
  ...base(port), kind: 'http', urls: [{ path: '/health', statusCodes: [{ min: 200, max: 299 }], digest: null, virtualhost: null }],
  virtualhost: null, sni: false, maxBodyBytes: 65536, httpVersion: '1.0',
});
await measure('HTTP_GET (HttpProbe: Client per checker)', (i) => {
  const p = new HttpProbe(httpChecker(ports.http[i]!), ctx);
  return async () => (await p.run()).ok;
});
await measure('HTTP_GET (fresh undici Client per check)', (i) => async () => {
  const c = new Client(`http://127.0.0.1:${ports.http[i]}`, { pipelining: 0 });
  try {
    const r = await c.request({ path: '/health', method: 'GET', reset: true });
    await r.body.dump();
    return r.statusCode === 200;
  } catch {
    return false;
  } finally {
    await c.destroy();
  }
});
await measure('HTTP_GET (one undici Client per checker, plain)', (i) => {
  const c = new Client(`http://127.0.0.1:${ports.http[i]}`, { pipelining: 0 });
  return async () => {
    try {
      const r = await c.request({ path: '/health', method: 'GET', reset: true });
      await r.body.dump();
      return r.statusCode === 200;
    } catch {
      return false;
    }
  };
});
await measure('HTTP_GET (node:http, agent:false) reference', (i) => () =>
  new Promise<boolean>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: ports.http[i], path: '/health', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  }),
);
child.stdin!.end();
if (child.pid) process.kill(child.pid);
