/**
 * Checker identity across a reload (keepalived ipwrapper.c migrate_checkers, which keeps a
 * checker's state when the type and the kind's compare function match:
 * check_tcp.c tcp_check_compare, check_http.c compare_http_check, check_misc.c
 * compare_misc_check). Two definitions with the same key are the same checker when they
 * check the same thing; what only says *when* or *how long* (the timing block, and the
 * MISC_CHECK `misc_timeout`, which defaults to the delay_loop) and what only says how a
 * checker *starts* (`alpha`) is not identity: changing it keeps the runner, its verdict
 * and history, and the new values apply from the next attempt.
 */
import { deepEqual } from '../lib/deep-equal.js';
import type { Checker } from '../model/types.js';

/**
 * Fields of a checker definition that are not identity (see file comment). Everything
 * else is: a field added to a checker kind later counts as identity until listed here,
 * so a reload replaces rather than wrongly keeps a checker.
 */
const NOT_IDENTITY: Readonly<Record<Checker['kind'], readonly string[]>> = {
  tcp: ['key', 'timing', 'alpha'],
  http: ['key', 'timing', 'alpha'],
  ssl: ['key', 'timing', 'alpha'],
  misc: ['key', 'timing', 'alpha', 'timeoutMs'],
};

/** The part of a checker definition that decides what it checks. */
export function checkerIdentity(c: Checker): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skip = NOT_IDENTITY[c.kind];
  for (const [k, v] of Object.entries(c)) if (!skip.includes(k)) out[k] = v;
  return out;
}

/** Whether two definitions of a checker (same key) check the same thing (see file comment). */
export function sameTarget(a: Checker, b: Checker): boolean {
  return deepEqual(checkerIdentity(a), checkerIdentity(b));
}
