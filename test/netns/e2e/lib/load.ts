/**
 * Benchmark-like load through the VIP from the client host: wrk when it is installed
 * (Debian package `wrk`; CI installs it), otherwise the lab's own client run as a load
 * generator (several processes, one new connection per millisecond each).
 */
import { execFileSync } from 'node:child_process';
import type { Topology } from '../../../../src/lab/topology.js';
import { LineReader } from '../../../../src/lab/lines.js';
import { Probe, tally } from '../../../../src/lab/probe.js';
import { LAB } from '../../../../src/lab/network.js';

/** What a load run did. */
export interface LoadResult {
  readonly tool: 'wrk' | 'node';
  readonly requests: number;
  /** Socket errors and non-2xx answers. */
  readonly errors: number;
  readonly requestsPerS: number;
  /** wrk's summary, or the node clients' tally. */
  readonly detail: string;
}

/** Load options. */
export interface LoadOptions {
  readonly durationS: number;
  /** Concurrent connections (wrk -c; node: one process per 16). */
  readonly connections: number;
  /** A new connection per request (`Connection: close`) instead of keep-alive. */
  readonly newConnections: boolean;
  /** wrk threads (default 2). */
  readonly threads?: number;
}

/** A running load. */
export interface Load {
  readonly tool: 'wrk' | 'node';
  done(): Promise<LoadResult>;
}

/** True when wrk is installed. */
export function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    // wrk --version exits 1 after printing its version
    return (e as { status?: number }).status === 1;
  }
}

/** Starts load from the client host against the VIP. */
export async function startLoad(topo: Topology, o: LoadOptions): Promise<Load> {
  const url = `http://${LAB.vip}:${LAB.port}/`;
  if (haveWrk()) {
    const argv = ['wrk', `-t${o.threads ?? 2}`, `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '2s'];
    if (o.newConnections) argv.push('-H', 'Connection: close');
    const child = topo.spawn(LAB.client.name, [...argv, url]);
    const out = new LineReader(child.stdout, child.stderr);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    return {
      tool: 'wrk',
      done: async () => {
        await exited;
        return parseWrk(out.lines.join('\n'));
      },
    };
  }
  const n = Math.max(1, Math.round(o.connections / 16));
  const probes = await Promise.all(Array.from({ length: n }, () => Probe.start(topo, LAB.client.name, {
    target: `${LAB.vip}:${LAB.port}`, intervalMs: 1, timeoutMs: 2000, durationMs: o.durationS * 1000,
  })));
  return {
    tool: 'node',
    done: async () => {
      const all = (await Promise.all(probes.map((p) => p.finished()))).flat();
      const t = tally(all);
      return { tool: 'node', requests: t.sent, errors: t.failed, requestsPerS: t.sent / o.durationS, detail: JSON.stringify(t) };
    },
  };
}

/** Reads wrk's summary. */
export function parseWrk(text: string): LoadResult {
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(requests)) throw new Error(`wrk printed no summary:\n${text}`);
  return { tool: 'wrk', requests, errors, requestsPerS: rps, detail: text.trim() };
}
