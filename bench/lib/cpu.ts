/**
 * Where the CPU goes during a benchmark run, from /proc: per process (all its threads), per
 * thread (by name, e.g. the forwarding workers `lvsd-fwd-N`), and machine-wide from
 * /proc/stat (user, system, softirq, idle). Figures are % of one CPU over the window, so on
 * a 2-vCPU machine the machine-wide columns add up to 200 %.
 *
 * The machine-wide figures include everything else running on the machine (other people's
 * tests on a shared builder); the per-process figures do not.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: /proc times are in 1/100 s on Linux x86-64 (getconf CLK_TCK). */
const HZ = 100;

function statTicks(path: string): number {
  try {
    const s = readFileSync(path, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15 of proc(5))
  } catch {
    return 0;
  }
}

/** CPU ticks (user + system) a process has used, all threads included. */
export function processTicks(pid: number): number {
  return statTicks(`/proc/${pid}/stat`);
}

/** Its threads: name (comm) → ticks, summed over threads of the same name. */
export function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (Number(tid) === pid) comm = 'main';
    out.set(comm, (out.get(comm) ?? 0) + statTicks(`/proc/${pid}/task/${tid}/stat`));
  }
  return out;
}

/** Direct children of a process (e.g. nginx's workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** /proc/stat's `cpu` line: [user, nice, system, idle, iowait, irq, softirq, steal]. */
export function machineTicks(): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  return line.trim().split(/\s+/).slice(1, 9).map(Number);
}

/** A group of processes to account together. */
export interface CpuGroup {
  readonly name: string;
  /** PIDs resolved when the window starts (children included when `withChildren`). */
  readonly pids: () => number[];
  /** Also report this group's threads by name (the lvsd process: main vs lvsd-fwd-N). */
  readonly threads?: boolean;
}

/** CPU use over one window: % of one CPU per group (and per thread name), and machine-wide. */
export interface CpuReport {
  readonly seconds: number;
  readonly groups: Record<string, number>;
  readonly threads: Record<string, number>;
  readonly machine: { user: number; system: number; softirq: number; idle: number };
}

/** Starts a window; call the returned function at its end. */
export function cpuWindow(groups: readonly CpuGroup[]): () => CpuReport {
  const t0 = performance.now();
  const m0 = machineTicks();
  const pidsOf = groups.map((g) => g.pids());
  const p0 = pidsOf.map((ps) => ps.map(processTicks));
  const th0 = groups.map((g, i) => (g.threads ? pidsOf[i]!.map(threadTicks) : []));
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const pct = (ticks: number) => (100 * ticks) / HZ / secs;
    const m1 = machineTicks();
    const d = m1.map((v, i) => v - m0[i]!);
    const out: CpuReport = {
      seconds: secs,
      groups: {},
      threads: {},
      machine: { user: pct(d[0]! + d[1]!), system: pct(d[2]!), softirq: pct(d[6]! + d[5]!), idle: pct(d[3]! + d[4]!) },
    };
    groups.forEach((g, i) => {
      const ps = pidsOf[i]!;
      out.groups[g.name] = pct(ps.reduce((s, pid, k) => s + processTicks(pid) - p0[i]![k]!, 0));
      if (g.threads) {
        ps.forEach((pid, k) => {
          const before = th0[i]![k]!;
          for (const [name, ticks] of threadTicks(pid)) {
            const key = `${g.name}:${name}`;
            out.threads[key] = (out.threads[key] ?? 0) + pct(ticks - (before.get(name) ?? 0));
          }
        });
      }
    });
    return out;
  };
}
