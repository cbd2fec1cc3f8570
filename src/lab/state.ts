/**
 * What a lab leaves behind when it is kept (`npm run lab -- --keep`), and how `--down`
 * removes it: the namespaces carry the fixed prefix `lvsd-lab-`, and the state directory
 * records the processes the lab started (PID and program), so `--down` ends exactly those,
 * by PID, and nothing else.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './topology.js';

/**
 * The lab's namespace prefix (fixed, so a kept lab can be found again). The test that runs
 * the lab end to end sets LVSD_LAB_PREFIX to a per-run prefix of its own, so it never meets
 * a lab a person kept.
 */
export const LAB_PREFIX = checked('LVSD_LAB_PREFIX', 'lvsd-lab-', /^(lvsd-lab-|lvt-)[a-z0-9-]{0,24}$/);

/** Config copies, control sockets, logs and the real servers' fail files live here (LVSD_LAB_DIR in that test). */
export const LAB_STATE_DIR = checked('LVSD_LAB_DIR', '/run/lvsd-lab', /^\/(run|tmp)\/(lvsd-lab|lvt-)[\w.-]*$/);

/** An override from the environment, only in a shape that cannot point at anything else. */
function checked(name: string, def: string, shape: RegExp): string {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  if (!shape.test(v)) throw new Error(`${name}=${v}: must match ${shape}`);
  return v;
}

/** A process the lab started. */
export interface StartedProcess {
  readonly pid: number;
  readonly host: string;
  /** A word of its command line (`lvsd.js`, `real-server.js`): checked before killing, against PID reuse. */
  readonly program: string;
}

/** The state file of a kept lab. */
export interface LabState {
  readonly startedAt: string;
  readonly processes: StartedProcess[];
}

const stateFile = () => join(LAB_STATE_DIR, 'state.json');

/** Creates the state directory (empty). */
export function makeStateDir(): string {
  rmSync(LAB_STATE_DIR, { recursive: true, force: true });
  mkdirSync(LAB_STATE_DIR, { recursive: true, mode: 0o755 });
  return LAB_STATE_DIR;
}

/** Records the processes of the lab (written as soon as they start, so --down works after a crash of the lab). */
export function writeState(s: LabState): void {
  writeFileSync(stateFile(), JSON.stringify(s, null, 2) + '\n');
}

/** The lab's namespaces that exist now. */
export async function labNamespaces(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list'], 10_000, false);
  return r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(LAB_PREFIX));
}

/** True when a lab (kept or crashed) is present. */
export async function labPresent(): Promise<boolean> {
  return existsSync(stateFile()) || (await labNamespaces()).length > 0;
}

function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return null;
  }
}

/** Removes a lab: ends the processes it recorded (by PID), deletes its namespaces and state. Returns what it did, line by line. */
export async function labDown(): Promise<string[]> {
  const said: string[] = [];
  let state: LabState | null = null;
  try {
    state = JSON.parse(readFileSync(stateFile(), 'utf8')) as LabState;
  } catch {
    /* none */
  }
  const mine = (state?.processes ?? []).filter((p) => commandLine(p.pid)?.includes(p.program));
  for (const p of mine) {
    try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  const deadline = Date.now() + 5000;
  while (mine.some((p) => commandLine(p.pid)?.includes(p.program)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of mine) {
    if (commandLine(p.pid)?.includes(p.program)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  if (mine.length) said.push(`stopped ${mine.length} process(es): ${mine.map((p) => `${p.program} on ${p.host} (pid ${p.pid})`).join(', ')}`);
  const names = await labNamespaces();
  for (const n of names) {
    const pids = (await run('ip', ['netns', 'pids', n], 10_000, false)).stdout.split('\n').filter(Boolean);
    for (const pid of pids) said.push(`left alone: pid ${pid} (${commandLine(Number(pid)) ?? '?'}) still runs in ${n}; the lab did not start it`);
    await run('ip', ['netns', 'del', n], 10_000, false);
  }
  if (names.length) said.push(`removed ${names.length} namespace(s): ${names.join(' ')}`);
  if (existsSync(LAB_STATE_DIR)) {
    rmSync(LAB_STATE_DIR, { recursive: true, force: true });
    said.push(`removed ${LAB_STATE_DIR}`);
  }
  return said;
}
