/**
 * Test-side handle on the harness process (lib/harness.ts) running in a namespace: starts it,
 * waits for readiness, sends commands and reads answers in order.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../lib/netns.js';
import type { Model } from '../../../../src/model/types.js';

const HARNESS = fileURLToPath(new URL('./harness.ts', import.meta.url));

export class Director {
  readonly events: Record<string, unknown>[] = [];
  private readonly answers: Record<string, unknown>[] = [];
  private waiters: ((v: Record<string, unknown>) => void)[] = [];
  private buf = '';
  readonly child: ChildProcess;
  stderr = '';

  constructor(t: Topology, host: string, model: Model, dir: string) {
    const file = join(dir, `model-${host}.json`);
    writeFileSync(file, JSON.stringify(model));
    this.child = t.spawn(host, [process.execPath, '--import', 'tsx', HARNESS, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line.trim()) continue;
        let m: Record<string, unknown>;
        try { m = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
        if (m.event) { this.events.push(m.event as Record<string, unknown>); continue; }
        const w = this.waiters.shift();
        if (w) w(m);
        else this.answers.push(m);
      }
    });
  }

  private next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const a = this.answers.shift();
    if (a) return Promise.resolve(a);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`harness did not answer in ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push((v) => { clearTimeout(t); resolve(v); });
    });
  }

  async ready(): Promise<void> {
    const m = await this.next(30_000);
    if (!m.ready) throw new Error(`harness failed: ${JSON.stringify(m)} ${this.stderr.slice(-2000)}`);
  }

  async cmd(c: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin!.write(JSON.stringify(c) + '\n');
    const m = await this.next();
    if (m.ok === false) throw new Error(`harness: ${String(m.error)}`);
    return m;
  }

  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    try {
      await this.cmd({ cmd: 'quit' });
    } catch {
      /* killed by cleanup */
    }
  }
}
