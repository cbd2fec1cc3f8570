/**
 * Network-namespace topology helper for the lab, the netns tests and the benchmarks.
 *
 * Safety rules it enforces: every namespace name carries the run's prefix; veth pairs are
 * created directly inside namespaces (nothing is ever added to the host's own namespace);
 * every namespace and every process started through it is removed/killed (by PID) on
 * cleanup(), which also runs on process exit, SIGINT, SIGTERM and SIGHUP. Addresses are the
 * caller's business: use 198.18.0.0/15 only.
 *
 * On a signal the cleanup cannot be cut short: the first SIGINT/SIGTERM/SIGHUP starts it
 * (bounded: processes get SIGTERM, then SIGKILL after 2 s; each namespace deletion has a
 * timeout) and exits 128+signal when it is done; later signals (a second Ctrl-C) are
 * ignored meanwhile, and the commands it runs are in their own process group, so a Ctrl-C
 * on the terminal does not reach them. Once cleanup has begun, a topology starts nothing new.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Result of a command run in a namespace. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const live = new Set<Topology>();
let hooked = false;
let interruptedBy: NodeJS.Signals | null = null;
const SIGNAL_NUMBER = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
/** The longest a signal-driven cleanup may take before the synchronous one finishes the job. */
const SIGNAL_CLEANUP_MS = 30_000;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const t of [...live]) t.cleanupSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => onSignal(sig));
}

function onSignal(sig: keyof typeof SIGNAL_NUMBER): void {
  if (interruptedBy) return; // cleanup already running: a second Ctrl-C must not cut it short
  interruptedBy = sig;
  const code = 128 + SIGNAL_NUMBER[sig];
  setTimeout(() => process.exit(code), SIGNAL_CLEANUP_MS).unref(); // the exit handler's cleanupSync does the rest
  void Promise.allSettled([...live].map((t) => t.cleanup())).then(() => process.exit(code));
}

/** The signal that started the removal of every topology of this process, or null. */
export function interruptedBySignal(): NodeJS.Signals | null {
  return interruptedBy;
}

/** Options of a topology. */
export interface TopologyOptions {
  /**
   * The whole namespace-name prefix, used as given (the lab's fixed `lvsd-lab-`, so that
   * `--keep` and `--down` find it again). Default: `lvt-AREA-RANDOM-`.
   */
  readonly prefix?: string;
}

/** A set of namespaces sharing one per-run prefix. */
export class Topology {
  /** Full prefix, e.g. `lvt-vrrp-3f9a2c-`. */
  readonly prefix: string;
  private readonly names = new Set<string>();
  private readonly children = new Map<ChildProcess, string>();
  private removing: Promise<void> | null = null;
  private closed = false;

  /** `area` is a short tag of your own (e.g. 'vrrp'); a random suffix makes the run unique. */
  constructor(area: string, opts: TopologyOptions = {}) {
    this.prefix = opts.prefix ?? `lvt-${area}-${randomBytes(3).toString('hex')}-`;
    live.add(this);
    hookExit();
  }

  /** Full namespace name for a short host name. */
  ns(host: string): string {
    return `${this.prefix}${host}`;
  }

  /** Namespaces created so far (full names). */
  namespaces(): string[] {
    return [...this.names];
  }

  /** True once cleanup (or detach) has begun: nothing new is started. */
  get closing(): boolean {
    return this.closed;
  }

  private open(what: string): void {
    if (this.closed) throw new Error(`topology ${this.prefix}* is being removed: not starting ${what}`);
  }

  /** Creates namespaces (loopback up, no forwarding unless asked). */
  async addHosts(...hosts: string[]): Promise<void> {
    for (const h of hosts) {
      this.open(`namespace ${this.ns(h)}`);
      const n = this.ns(h);
      await run('ip', ['netns', 'add', n]);
      this.names.add(n);
      await this.ok(h, ['ip', 'link', 'set', 'lo', 'up']);
    }
  }

  /** A veth pair between two hosts: ifA in hostA, ifB in hostB, both up. */
  async link(hostA: string, ifA: string, hostB: string, ifB: string, opts: { macA?: string; macB?: string } = {}): Promise<void> {
    await run('ip', ['-n', this.ns(hostA), 'link', 'add', ifA, ...(opts.macA ? ['address', opts.macA] : []), 'type', 'veth',
      'peer', 'name', ifB, ...(opts.macB ? ['address', opts.macB] : []), 'netns', this.ns(hostB)]);
    await this.ok(hostA, ['ip', 'link', 'set', ifA, 'up']);
    await this.ok(hostB, ['ip', 'link', 'set', ifB, 'up']);
  }

  /**
   * A switch: a host holding a bridge `br0`; `attach(...)` connects other hosts to it.
   * Returns a function that plugs a host's new interface into the switch.
   */
  async addSwitch(host: string): Promise<(peer: string, peerIf: string, mac?: string) => Promise<void>> {
    await this.addHosts(host);
    await this.ok(host, ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await this.ok(host, ['ip', 'link', 'set', 'br0', 'up']);
    let port = 0;
    return async (peer, peerIf, mac) => {
      const p = `p${port++}`;
      await this.link(host, p, peer, peerIf, mac ? { macB: mac } : {});
      await this.ok(host, ['ip', 'link', 'set', p, 'master', 'br0']);
    };
  }

  /** Adds an address (`198.18.0.1/24`) to an interface of a host. */
  async addr(host: string, ifname: string, cidr: string): Promise<void> {
    await this.ok(host, ['ip', 'addr', 'add', cidr, 'dev', ifname]);
  }

  /** Sets a sysctl inside a host (`net.ipv4.ip_forward`, `1`). */
  async sysctl(host: string, key: string, value: string): Promise<void> {
    await this.ok(host, ['sysctl', '-qw', `${key}=${value}`]);
  }

  /** Runs argv in a host; never throws for a non-zero exit. */
  exec(host: string, argv: string[], timeoutMs = 20_000): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new Error(`topology ${this.prefix}* is being removed: not running ${argv[0]}`));
    return run('ip', ['netns', 'exec', this.ns(host), ...argv], timeoutMs, false);
  }

  /** Runs argv in a host; throws with stderr on a non-zero exit. */
  async ok(host: string, argv: string[], timeoutMs = 20_000): Promise<string> {
    this.open(argv[0] ?? 'a command');
    const r = await run('ip', ['netns', 'exec', this.ns(host), ...argv], timeoutMs, true);
    return r.stdout;
  }

  /**
   * Starts a long-running process in a host; it is killed (by PID) on cleanup. `ip netns
   * exec` execs the command, so the child's PID is the command's own.
   */
  spawn(host: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    this.open(argv.join(' '));
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.set(child, host);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Processes started in a host and still running. */
  running(host?: string): ChildProcess[] {
    return [...this.children].filter(([, h]) => host === undefined || h === host).map(([c]) => c);
  }

  /** Kills one started process by PID and waits for it to exit (bounded). */
  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', waitMs = 5000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), waitMs);
    await exited;
    clearTimeout(t);
  }

  /** Kills every process started in one host (as a power loss would, with SIGKILL). */
  async killHost(host: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.running(host).map((c) => this.kill(c, signal)));
  }

  /**
   * Kills every started process (SIGTERM, SIGKILL after 2 s) and deletes every namespace.
   * Idempotent: a second call (another signal, the caller's own cleanup) waits for the first.
   */
  cleanup(): Promise<void> {
    this.closed = true;
    this.removing ??= (async () => {
      await Promise.all([...this.children.keys()].map((c) => this.kill(c, 'SIGTERM', 2000).catch(() => {})));
      for (const n of [...this.names]) {
        await run('ip', ['netns', 'del', n], 10_000, false, { detached: true });
        this.names.delete(n);
      }
      live.delete(this);
    })();
    return this.removing;
  }

  /**
   * Forgets everything without removing it (the lab's `--keep`): the namespaces and the
   * processes outlive this process, and exit handlers leave them alone.
   */
  detach(): void {
    this.closed = true;
    for (const c of this.children.keys()) c.unref();
    this.children.clear();
    this.names.clear();
    live.delete(this);
  }

  /** Synchronous cleanup for exit handlers. */
  cleanupSync(): void {
    this.closed = true;
    for (const c of this.children.keys()) {
      try { c.kill('SIGKILL'); } catch { /* gone */ }
    }
    this.children.clear();
    for (const n of this.names) {
      try { execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 }); } catch { /* gone */ }
    }
    this.names.clear();
    live.delete(this);
  }
}

/**
 * Runs a command with a time bound. `detached`: in its own process group, so a Ctrl-C on the
 * terminal does not reach it (for cleanup commands that must finish).
 */
export function run(cmd: string, args: string[], timeoutMs = 20_000, check = true, opts: { detached?: boolean } = {}): Promise<ExecResult> {
  if (opts.detached) return runDetached(cmd, args, timeoutMs, check);
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
      if (err && check) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr || err.message}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** run() in a new process group (execFile has no `detached`). */
function runDetached(cmd: string, args: string[], timeoutMs: number, check: boolean): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = (code: number, why: string) => {
      clearTimeout(timer);
      if (code !== 0 && check) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr || why}`));
      else resolve({ code, stdout, stderr });
    };
    child.once('error', (e) => done(1, e.message));
    child.once('close', (code, sig) => done(code ?? 1, sig ? `killed by ${sig}` : ''));
  });
}

/** True when this process can build namespaces (root with iproute2). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls fn until it returns a truthy value or the time runs out (bounded). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, stepMs = 20, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
