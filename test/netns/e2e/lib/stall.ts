/**
 * A witness of how long ordinary processes are kept waiting: an unrelated process whose only
 * job is a 10 ms timer, reporting every time it fires more than 20 ms late. On a small,
 * saturated or shared machine, normal-priority processes (the probing client, the real
 * servers, the witness) can wait hundreds of milliseconds, even seconds, for a CPU, while
 * lvsd's main thread runs real-time (docs/decisions/vrrp-realtime-priority.md). A client
 * measurement taken during such a wait says more about the machine than about lvsd; tests
 * report the witness's pauses next to their figures, and a client-side bound may add the
 * pause the witness measured inside the window it checks, capped small (failover.test.ts:
 * 50 ms, from measurement): the witness cannot tell a pause of the machine from one that
 * lvsd's own real-time thread caused, so it never excuses much, nor lvsd's own figures.
 */
import type { Topology } from '../../../../src/lab/topology.js';
import { LineReader } from '../../../../src/lab/lines.js';

const SCRIPT = `let last = Date.now(); setInterval(() => { const now = Date.now(); const late = now - last - 10;
  if (late > 20) process.stdout.write(JSON.stringify({ at: now, lateMs: late }) + '\\n'); last = now; }, 10);`;

/** A pause the witness saw: its timer fired lateMs late, at `at` (epoch ms). */
export interface Stall {
  readonly at: number;
  readonly lateMs: number;
}

/** The running witness. */
export class StallWitness {
  private readonly out: LineReader;
  private readonly topo: Topology;
  private readonly child: ReturnType<Topology['spawn']>;

  constructor(topo: Topology, host: string) {
    this.topo = topo;
    // Its own session (so its own scheduler autogroup), as the lvsd daemons have.
    this.child = topo.spawn(host, [process.execPath, '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.out = new LineReader(this.child.stdout);
  }

  /** Every pause so far. */
  stalls(): Stall[] {
    return this.out.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Stall);
  }

  /** The longest pause overlapping [fromMs, toMs] (0: none). */
  worstIn(fromMs: number, toMs: number): number {
    return this.stalls().filter((s) => s.at >= fromMs && s.at - s.lateMs <= toMs).reduce((m, s) => Math.max(m, s.lateMs), 0);
  }

  async stop(): Promise<Stall[]> {
    await this.topo.kill(this.child);
    return this.stalls();
  }
}
