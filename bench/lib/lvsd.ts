/**
 * Bench-side handle on bench/lib/lvsd-harness.ts running in the director namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../test/netns/lib/netns.js';
import type { Model } from '../../src/model/types.js';
import type { ForwardingDeps } from '../../src/forward/subsystem.js';

const HARNESS = fileURLToPath(new URL('./lvsd-harness.ts', import.meta.url));

/**
 * Fields of ForwardingDeps a bench run may set (plain data), and `sync`: run connection
 * sync's master role (lvs_sync_daemon on the director's eth1, messages to 224.0.0.81), to
 * measure what it costs the data plane.
 */
export type LvsdOptions = Pick<ForwardingDeps, 'workers' | 'batch' | 'ring' | 'io'> & { sync?: boolean };

export class LvsdProcess {
  readonly child: ChildProcess;
  private buf = '';
  private stderr = '';
  private readonly lines: Record<string, unknown>[] = [];
  private waiter: ((m: Record<string, unknown>) => void) | null = null;
  pid = 0;

  constructor(t: Topology, host: string, model: Model, opts: LvsdOptions, dir: string, tag: string) {
    const mf = join(dir, `model-${tag}.json`);
    const of = join(dir, `opts-${tag}.json`);
    writeFileSync(mf, JSON.stringify(model));
    writeFileSync(of, JSON.stringify(opts));
    // LVSD_BENCH_PROF=DIR: V8 CPU profiles of the harness and its workers (--cpu-prof) in DIR.
    const prof = process.env.LVSD_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LVSD_BENCH_PROF}`] : [];
    this.child = t.spawn(host, [process.execPath, ...prof, '--import', 'tsx', HARNESS, mf, of], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          const m = JSON.parse(line) as Record<string, unknown>;
          if (this.waiter) { const w = this.waiter; this.waiter = null; w(m); } else this.lines.push(m);
        } catch { /* not ours */ }
      }
    });
  }

  private next(ms = 30_000): Promise<Record<string, unknown>> {
    const m = this.lines.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`lvsd harness silent for ${ms} ms: ${this.stderr.slice(-1500)}`)), ms);
      this.waiter = (v) => { clearTimeout(t); resolve(v); };
    });
  }

  async ready(): Promise<void> {
    const m = await this.next();
    if (!m.ready) throw new Error(`lvsd harness: ${JSON.stringify(m)} ${this.stderr.slice(-1500)}`);
    this.pid = Number(m.pid);
  }

  async cmd(c: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin!.write(JSON.stringify(c) + '\n');
    return this.next();
  }

  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.cmd({ cmd: 'quit' }).catch(() => undefined);
  }
}
