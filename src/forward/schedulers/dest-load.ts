/**
 * A dest's load as IPVS measures it: the connection overhead the least-connection family
 * compares, and the upper/lower connection thresholds that set and clear
 * IP_VS_DEST_F_OVERLOAD (`Dest.overloaded`), which every scheduler honours.
 *
 * The connection table owns the counters; it calls `overloadAfterBind()` after it binds a
 * connection (or a persistence template) to a dest and `overloadAfterUnbind()` after it
 * unbinds one, as ip_vs_conn.c `ip_vs_bind_dest()` / `ip_vs_unbind_dest()` do.
 */
import type { Dest } from './types.js';

/**
 * include/net/ip_vs.h `ip_vs_dest_conn_overhead()`: `(activeconns << 8) + inactconns`
 * ("active connections cost 256 times an inactive one"), used by lc, wlc, lblc, lblcr, twos.
 */
export function connOverhead(d: Dest): number {
  return d.activeConns * 256 + d.inactiveConns;
}

/** ip_vs_conn.c `ip_vs_dest_totalconns()`: active + inactive (templates not counted). */
export function totalConns(d: Dest): number {
  return d.activeConns + d.inactiveConns;
}

/**
 * ip_vs_conn.c `ip_vs_bind_dest()`: after a connection or template was bound (counters
 * already incremented), set OVERLOAD when the upper threshold is reached. Never clears.
 */
export function overloadAfterBind(d: Dest, upperThreshold: number): void {
  if (upperThreshold !== 0 && totalConns(d) >= upperThreshold) d.overloaded = true;
}

/**
 * ip_vs_conn.c `ip_vs_unbind_dest()`: after a connection or template was unbound (counters
 * already decremented), clear OVERLOAD when below the lower threshold; without a lower
 * threshold, when below 3/4 of the upper one; without thresholds, always. Never sets.
 */
export function overloadAfterUnbind(d: Dest, upperThreshold: number, lowerThreshold: number): void {
  if (lowerThreshold !== 0) {
    if (totalConns(d) < lowerThreshold) d.overloaded = false;
  } else if (upperThreshold !== 0) {
    if (totalConns(d) * 4 < upperThreshold * 3) d.overloaded = false;
  } else {
    d.overloaded = false;
  }
}

/**
 * Direction-free form of the two rules above, for a caller that only knows "the counters
 * changed": sets OVERLOAD at the upper threshold, else applies the unbind rule while set.
 * It equals the bind/unbind pair whenever the thresholds have not been lowered below the
 * current count at run time (then it sets OVERLOAD one unbind earlier than the kernel,
 * which would set it at the next bind).
 */
export function updateOverload(d: Dest, upperThreshold: number, lowerThreshold: number): void {
  if (upperThreshold !== 0 && totalConns(d) >= upperThreshold) {
    d.overloaded = true;
    return;
  }
  if (d.overloaded) overloadAfterUnbind(d, upperThreshold, lowerThreshold);
}

/**
 * ip_vs_ctl.c `__ip_vs_update_dest()`: when a dest's thresholds are (re)configured,
 * OVERLOAD is cleared if the new upper threshold is 0 or higher than the old one.
 */
export function overloadAfterThresholdChange(d: Dest, oldUpperThreshold: number, newUpperThreshold: number): void {
  if (newUpperThreshold === 0 || newUpperThreshold > oldUpperThreshold) d.overloaded = false;
}
