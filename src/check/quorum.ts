/**
 * Pure rules that turn checker verdicts into real-server and service health
 * (keepalived ipwrapper.c: update_svr_checker_state, weigh_live_realservers,
 * set_quorum_states, update_quorum_state).
 */

/** A real server is alive only when every one of its checkers is up (none = always alive). */
export function realAlive(checkerUps: Iterable<boolean>): boolean {
  for (const up of checkerUps) if (!up) return false;
  return true;
}

/**
 * The weight a real server carries: the last `misc_dynamic` weight when a script set one,
 * else the configured weight.
 */
export function effectiveWeight(configured: number, dynamic: number | null): number {
  return dynamic ?? configured;
}

/** Quorum at start (ipwrapper.c set_quorum_states): alive weight ≥ quorum + hysteresis. */
export function initialQuorum(aliveWeight: number, quorum: number, hysteresis: number): boolean {
  return aliveWeight >= quorum + hysteresis;
}

/**
 * Quorum after a change (ipwrapper.c update_quorum_state): gained when the alive weight
 * reaches quorum + hysteresis, lost when it falls below quorum − hysteresis (or to 0).
 */
export function nextQuorum(wasUp: boolean, aliveWeight: number, quorum: number, hysteresis: number): boolean {
  const threshold = quorum + (wasUp ? -1 : 1) * hysteresis;
  if (!wasUp) return aliveWeight >= threshold;
  return !(aliveWeight === 0 || aliveWeight < threshold);
}
