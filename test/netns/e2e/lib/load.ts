/**
 * The benchmark's load through the VIP from the client host, as bench/forward.ts drives it:
 * wrk (Debian package `wrk`; .ci/run installs it, and a test that needs load fails clearly
 * without it: a lighter client would not load the data plane), keep-alive or a new connection
 * per request, from several client addresses so that the forwarding core's fanout spreads the
 * flows over every worker (a client's flows stay on one worker by design,
 * docs/decisions/forwarding-workers.md).
 */
import { execFileSync } from 'node:child_process';
import type { Topology } from '../../../../src/lab/topology.js';
import { LineReader } from '../../../../src/lab/lines.js';
import { LAB } from '../../../../src/lab/network.js';

/** What a load run did. */
export interface LoadResult {
  readonly requests: number;
  /** Socket errors (connect, write, timeout; read too on keep-alive) and non-2xx answers. */
  readonly errors: number;
  /** wrk's socket error counts as it printed them. */
  readonly socketErrors: { readonly connect: number; readonly read: number; readonly write: number; readonly timeout: number };
  readonly non2xx: number;
  readonly requestsPerS: number;
  /** wrk's summary. */
  readonly detail: string;
}

/** Load options. */
export interface LoadOptions {
  /** How long wrk runs (it can be stopped earlier with stop()). */
  readonly durationS: number;
  /** Concurrent connections (wrk -c). */
  readonly connections: number;
  /** A new connection per request (`Connection: close`) instead of keep-alive. */
  readonly newConnections: boolean;
  /** wrk threads (default 2). */
  readonly threads?: number;
  /** wrk --timeout in seconds (default 2). */
  readonly timeoutS?: number;
}

/** A running load. */
export interface Load {
  /** When wrk was started (epoch ms). */
  readonly startedAt: number;
  /** Stops wrk early (SIGINT: it prints its summary) and resolves with it. */
  stop(): Promise<LoadResult>;
  /** Resolves with wrk's summary when it ends. */
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

/** Throws a clear error when wrk is missing. */
export function requireWrk(): void {
  if (!haveWrk()) throw new Error('wrk is not installed: this test drives the benchmark\'s load with it (Debian package wrk; .ci/run installs it)');
}

/** The i-th extra client address (198.18.0.101, ...). */
export function clientAddress(i: number): string {
  return `198.18.0.${101 + i}`;
}

/**
 * Gives the client host `count` addresses in all (its own and count − 1 more) and makes its
 * connections leave from them in turn (an nft `snat to numgen inc mod N` in the client's
 * namespace, as bench/lib/topology.ts does): traffic from several clients, as a director sees it.
 */
export async function useClientAddresses(topo: Topology, count: number): Promise<string[]> {
  const addrs = [LAB.client.address, ...Array.from({ length: count - 1 }, (_, i) => clientAddress(i))];
  for (const a of addrs.slice(1)) await topo.addr(LAB.client.name, 'eth0', `${a}/24`);
  const map = addrs.map((a, i) => `${i} : ${a}`).join(', ');
  await topo.ok(LAB.client.name, ['nft', `table ip lvtclient { chain post { type nat hook postrouting priority 100; oifname "eth0" ip saddr ${LAB.client.address} ip daddr ${LAB.vip} snat to numgen inc mod ${addrs.length} map { ${map} }; }; }`]);
  // wrk opens and closes thousands of connections/s: room in the listen backlogs, no TIME_WAIT pile-up.
  await topo.sysctl(LAB.client.name, 'net.ipv4.tcp_max_tw_buckets', '0');
  return addrs;
}

/** Starts wrk from the client host against the VIP. */
export async function startLoad(topo: Topology, o: LoadOptions): Promise<Load> {
  requireWrk();
  const url = `http://${LAB.vip}:${LAB.port}/`;
  const argv = ['wrk', `-t${o.threads ?? 2}`, `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', `${o.timeoutS ?? 2}s`];
  if (o.newConnections) argv.push('-H', 'Connection: close');
  const startedAt = Date.now();
  const child = topo.spawn(LAB.client.name, [...argv, url]);
  const out = new LineReader(child.stdout, child.stderr);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const result = async () => {
    await exited;
    return parseWrk(out.lines.join('\n'), o.newConnections);
  };
  return {
    startedAt,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return result();
    },
    done: result,
  };
}

/**
 * Reads wrk's summary. With `Connection: close` wrk counts the server's close after each
 * answer as a read error, so read errors count only on keep-alive (as bench/forward.ts does).
 */
export function parseWrk(text: string, newConnections = false): LoadResult {
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = { connect: Number(sock?.[1] ?? 0), read: Number(sock?.[2] ?? 0), write: Number(sock?.[3] ?? 0), timeout: Number(sock?.[4] ?? 0) };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = socketErrors.connect + socketErrors.write + socketErrors.timeout + (newConnections ? 0 : socketErrors.read) + non2xx;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(requests)) throw new Error(`wrk printed no summary:\n${text}`);
  return { requests, errors, socketErrors, non2xx, requestsPerS: rps, detail: text.trim() };
}
