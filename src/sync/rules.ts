/**
 * When a master reports a connection to its backups: Linux ip_vs_sync.c
 * `ip_vs_sync_conn_needed()` with the kernel's defaults (`sync_threshold 3 50`,
 * `sync_refresh_period 0`, `sync_persist_mode 0`), called for every packet from the client
 * side of a connection (ip_vs_core.c ip_vs_in_hook: `pkts = atomic_inc_return(&cp->in_pkts)`,
 * then `ip_vs_sync_conn(ipvs, cp, pkts)`), and for the template that controls it with the
 * template's own incremented count.
 *
 *   template             → always (with sync_period > 0): refreshes the backup's timeout
 *   UDP (single state)   → when pkts % period == threshold (3, 53, 103, ...)
 *   TCP not in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT → never
 *   TCP state changed (old_state ≠ state) into FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT → now
 *   TCP ESTABLISHED (changed or not) → when pkts % period == threshold
 *   period 0: only when pkts == threshold (once), or on the forced state changes
 *
 * `old_state` is updated whenever the answer is yes (the `set:` label), so a connection
 * that entered ESTABLISHED is reported at its threshold packet, and each later closing state
 * once. Pure: the caller keeps pkts and old_state per connection.
 */
import { sCL, sCW, sES, sFW, sTW } from '../forward/proto/tcp.js';

/** `net.ipv4.vs.sync_threshold` (threshold, period). */
export interface SyncRules {
  /** Packets after which a connection is first reported (DEFAULT_SYNC_THRESHOLD 3). */
  readonly threshold: number;
  /** Report again every `period` packets (DEFAULT_SYNC_PERIOD 50); 0 = only once. */
  readonly period: number;
}

/** The kernel's defaults (include/net/ip_vs.h). */
export const DEFAULT_SYNC_RULES: SyncRules = { threshold: 3, period: 50 };

/** The TCP states in which a connection is reported at all. */
const TCP_SYNC_STATES = (1 << sES) | (1 << sFW) | (1 << sCL) | (1 << sCW) | (1 << sTW);

const IPPROTO_TCP = 6;

/**
 * ip_vs_sync_conn_needed() (sync_refresh_period 0): whether to report now. `pkts` is the
 * connection's packet count from the client side including this packet (templates: the
 * template's own count). When it returns true the caller sets old_state = state.
 */
export function syncNeeded(rules: SyncRules, template: boolean, proto: number, state: number, oldState: number, pkts: number): boolean {
  let force = false;
  if (!template && proto === IPPROTO_TCP) {
    if (!((1 << state) & TCP_SYNC_STATES)) return false;
    force = state !== oldState;
    if (force && state !== sES) return true;
  }
  if (rules.period > 0) {
    if (!template && pkts % rules.period !== rules.threshold) return false;
  } else if (pkts !== rules.threshold) {
    return false;
  }
  return true;
}

/**
 * The packet count as a connection keeps it: the kernel's in_pkts only matters modulo the
 * period (or up to the threshold when the period is 0), so it is kept in 16 bits as that.
 * Returns the count including this packet.
 */
export function nextPkts(rules: SyncRules, stored: number): number {
  if (rules.period > 0) {
    const n = stored + 1;
    return n >= rules.period ? n - rules.period : n;
  }
  return stored >= 0xffff ? 0xffff : stored + 1;
}

/** Checks sync_threshold values as the kernel's proc handler does (proc_do_sync_threshold). */
export function validRules(r: SyncRules): boolean {
  return Number.isInteger(r.threshold) && Number.isInteger(r.period) && r.threshold >= 0 && r.period >= 0 &&
    r.period <= 0xffff && !(r.threshold >= r.period && r.period !== 0);
}
