/**
 * A handle on the probing client (dist/lab/http-client.js) running in the client namespace,
 * and the arithmetic over what it recorded: counts per real server, failures, and the
 * longest run of failed requests (the failover gap as a client sees it).
 */
import type { ChildProcess } from 'node:child_process';
import type { Topology } from './topology.js';
import type { RequestRecord } from './http-client.js';
import { LineReader } from './lines.js';
import { PROGRAMS } from './paths.js';

export type { RequestRecord } from './http-client.js';

/** Options of a probe. */
export interface ProbeOptions {
  readonly target: string;
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  readonly durationMs?: number;
  readonly path?: string;
}

/** The probing client, running. */
export class Probe {
  readonly records: RequestRecord[] = [];
  readonly child: ChildProcess;
  readonly opts: ProbeOptions;
  private readonly out: LineReader;
  private readonly listeners = new Set<(r: RequestRecord) => void>();
  private doneLine: Promise<string>;

  private constructor(topo: Topology, host: string, opts: ProbeOptions) {
    this.opts = opts;
    const argv = [process.execPath, PROGRAMS.httpClient, '--target', opts.target, '--interval-ms', String(opts.intervalMs)];
    if (opts.timeoutMs) argv.push('--timeout-ms', String(opts.timeoutMs));
    if (opts.durationMs) argv.push('--duration-ms', String(opts.durationMs));
    if (opts.path) argv.push('--path', opts.path);
    // stdin is a pipe: the client stops when this process goes away.
    this.child = topo.spawn(host, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.out = new LineReader(this.child.stdout, this.child.stderr);
    this.out.onLine((l) => {
      if (!l.startsWith('{"seq"')) return;
      const r = JSON.parse(l) as RequestRecord;
      this.records.push(r);
      for (const f of this.listeners) f(r);
    });
    this.doneLine = this.out.waitFor((l) => l.startsWith('{"done"'), (opts.durationMs ?? 3_600_000) + 60_000, 'probe done');
    this.doneLine.catch(() => {});
  }

  /** Starts the client in a host and waits until it sends. */
  static async start(topo: Topology, host: string, opts: ProbeOptions): Promise<Probe> {
    const p = new Probe(topo, host, opts);
    await p.out.waitFor((l) => l.startsWith('{"ready"'), 10_000, 'probe ready');
    return p;
  }

  /** Calls fn for every later record. */
  onRecord(fn: (r: RequestRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops sending, waits for the requests in flight, resolves with every record. */
  async stop(): Promise<RequestRecord[]> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.finished();
    return this.records;
  }

  /** Resolves when the client has finished (duration over or stopped). */
  async finished(): Promise<RequestRecord[]> {
    await this.doneLine;
    await new Promise((r) => setTimeout(r, 20));
    return this.records;
  }
}

/** What a set of requests shows. */
export interface Tally {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Answered requests per real server name. */
  readonly perReal: Record<string, number>;
  /** Failures per reason. */
  readonly reasons: Record<string, number>;
}

/** Counts the requests sent in [fromMs, toMs). */
export function tally(records: readonly RequestRecord[], fromMs = -Infinity, toMs = Infinity): Tally {
  const perReal: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  for (const r of records) {
    if (r.sent < fromMs || r.sent >= toMs) continue;
    sent++;
    if (r.rs !== undefined) {
      ok++;
      perReal[r.rs] = (perReal[r.rs] ?? 0) + 1;
    } else {
      reasons[r.err ?? 'error'] = (reasons[r.err ?? 'error'] ?? 0) + 1;
    }
  }
  return { sent, ok, failed: sent - ok, perReal, reasons };
}

/** A run of consecutive failed requests (in sending order). */
export interface FailedRun {
  readonly count: number;
  /** Send time of the first failed request. */
  readonly firstFailedMs: number;
  /** Send time of the first answered request after the run (null: none yet). */
  readonly firstOkAfterMs: number | null;
  /** Completion time of that answered request. */
  readonly firstOkAfterDoneMs: number | null;
  /** Send time of the last answered request before the run (null: none). */
  readonly lastOkBeforeMs: number | null;
  /**
   * The gap as a client sees it: from the first failed request to the first answered one
   * after it (send times), i.e. how long a new request would have failed.
   */
  readonly gapMs: number;
}

/** The longest run of failed requests sent in [fromMs, toMs), or null when none failed. */
export function longestFailedRun(records: readonly RequestRecord[], fromMs = -Infinity, toMs = Infinity): FailedRun | null {
  const rs = records.filter((r) => r.sent >= fromMs && r.sent < toMs).sort((a, b) => a.seq - b.seq);
  let best: FailedRun | null = null;
  for (let i = 0; i < rs.length; i++) {
    if (rs[i]!.rs !== undefined) continue;
    let j = i;
    while (j < rs.length && rs[j]!.rs === undefined) j++;
    const before = i > 0 ? rs[i - 1]! : null;
    const after = j < rs.length ? rs[j]! : null;
    const run: FailedRun = {
      count: j - i,
      firstFailedMs: rs[i]!.sent,
      firstOkAfterMs: after ? after.sent : null,
      firstOkAfterDoneMs: after ? after.sent + after.ms : null,
      lastOkBeforeMs: before ? before.sent : null,
      gapMs: Math.round((after ? after.sent : rs[j - 1]!.sent) - rs[i]!.sent),
    };
    if (!best || run.gapMs > best.gapMs || (run.gapMs === best.gapMs && run.count > best.count)) best = run;
    i = j;
  }
  return best;
}

/**
 * When service came back after an event at atMs: the completion time of the first request
 * sent after atMs that was answered, minus atMs (null: none answered).
 */
export function serviceBackAfterMs(records: readonly RequestRecord[], atMs: number): number | null {
  let first: number | null = null;
  for (const r of records) {
    if (r.sent <= atMs || r.rs === undefined) continue;
    const done = r.sent + r.ms;
    if (first === null || done < first) first = done;
  }
  return first === null ? null : Math.round(first - atMs);
}
