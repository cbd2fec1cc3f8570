/**
 * MISC_CHECK: run `misc_path` through the ScriptPort (a child process; the event loop is
 * never blocked) with `misc_timeout` (keepalived check_misc.c misc_check_child_thread):
 *  - exit 0 → pass;
 *  - `misc_dynamic` and exit 2..255 → pass with weight = exit − 2 (0..253);
 *  - any other exit → fail (`script_exit`, `exit N`);
 *  - killed by a signal → fail (`script_signal`), by our timeout → `script_timeout`.
 */
import type { Checker, MiscChecker } from '../model/types.js';
import type { ScriptResult } from '../io/ports.js';
import type { Probe, ProbeContext } from './probe.js';
import { failed, passed, type CheckOutcome } from './outcome.js';

/** Maps a script run to an outcome (pure; exported for tests). */
export function miscOutcome(r: ScriptResult, dynamic: boolean): CheckOutcome {
  const ms = r.durationMs;
  if (r.spawnError !== null) return failed('error', r.spawnError, ms);
  if (r.timedOut) return failed('script_timeout', `killed after timeout${r.signal ? ` (${r.signal})` : ''}`, ms);
  if (r.signal !== null) return failed('script_signal', `signal ${r.signal}`, ms);
  const code = r.exitCode ?? -1;
  if (code === 0) return { ...passed(ms), exitCode: 0 };
  // check_misc.c: "The actual weight set when using misc_dynamic is two less than the exit status".
  if (dynamic && code >= 2 && code <= 255) return { ...passed(ms, `exit ${code}`, code - 2), exitCode: code };
  return { ...failed('script_exit', `exit ${code}`, ms), exitCode: code };
}

/** Probe for `MISC_CHECK`. */
export class MiscProbe implements Probe {
  private c: MiscChecker;
  private readonly ctx: ProbeContext;
  private closed = false;

  constructor(checker: MiscChecker, ctx: ProbeContext) {
    this.c = checker;
    this.ctx = ctx;
  }

  async run(): Promise<CheckOutcome> {
    if (this.closed) return failed('error', 'checker stopped', 0);
    try {
      const r = await this.ctx.scripts.run(this.c.path, { timeoutMs: this.c.timeoutMs, user: this.c.user });
      return miscOutcome(r, this.c.dynamic);
    } catch (err) {
      return failed('error', err instanceof Error ? err.message : String(err), 0);
    }
  }

  update(checker: Checker): void {
    if (checker.kind === 'misc') this.c = checker;
  }

  close(): void {
    // A script in flight is left to its own timeout (the ScriptPort kills its process group).
    this.closed = true;
  }
}
