/** Starting the lab's real servers (dist/lab/real-server.js) in their namespaces. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Topology } from './topology.js';
import type { LabReal } from './network.js';
import { LineReader } from './lines.js';
import { PROGRAMS } from './paths.js';

/** A running real server. */
export interface RealServerProc {
  readonly real: LabReal;
  readonly child: ChildProcess;
  /** `touch` it to make /health answer 503, remove it to recover. */
  readonly failFile: string;
  readonly out: LineReader;
}

/**
 * Starts one real server on port 80 of its address and waits until it listens. `onSpawn` is
 * called as soon as the process exists (before it listens), so its PID can be recorded at once.
 */
export async function startRealServer(topo: Topology, real: LabReal, stateDir: string, port = 80, onSpawn?: (child: ChildProcess) => void): Promise<RealServerProc> {
  const failFile = join(stateDir, `${real.name}.fail`);
  const child = topo.spawn(real.name, [
    process.execPath, PROGRAMS.realServer, '--name', real.name, '--listen', `${real.address}:${port}`, '--fail-file', failFile,
  ], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  onSpawn?.(child);
  const out = new LineReader(child.stdout, child.stderr);
  const exited = new Promise<never>((_, reject) => child.once('exit', (c, s) => reject(new Error(`${real.name}: real server exited (${s ?? c}): ${out.lines.join(' | ')}`))));
  await Promise.race([out.waitFor((l) => l.startsWith('listening'), 10_000, `${real.name} listening`), exited]);
  exited.catch(() => {});
  return { real, child, failFile, out };
}
