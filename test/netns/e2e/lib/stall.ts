/**
 * A witness of the machine's own pauses: an unrelated process whose only job is a 10 ms
 * timer, reporting every time it fires more than 20 ms late. On a shared or overloaded
 * machine the whole VM (or every runnable process) can pause for hundreds of milliseconds;
 * a pause the witness saw at the same moment as a late advert or a late takeover is the
 * machine's, not lvsd's. Tests report it next to their measurements, and a timing bound
 * may add the pause the witness measured inside the window it checks.
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
