/**
 * The scheduler registry (dpvs include/ipvs/sched.h `dp_vs_scheduler_get()`): each
 * scheduler is a small module registered here by its ipvsadm name.
 */
import { LvsdError } from '../../lib/errors.js';
import type { SchedulerName } from '../../model/types.js';
import { dhScheduler } from './dh.js';
import { foScheduler } from './fo.js';
import { lblcScheduler } from './lblc.js';
import { lblcrScheduler } from './lblcr.js';
import { lcScheduler } from './lc.js';
import { mhScheduler } from './mh.js';
import { nqScheduler } from './nq.js';
import { ovfScheduler } from './ovf.js';
import { rrScheduler } from './rr.js';
import { sedScheduler } from './sed.js';
import { shScheduler } from './sh.js';
import { twosScheduler } from './twos.js';
import type { Scheduler, SchedulerModule, SchedulerOptions } from './types.js';
import { wlcScheduler } from './wlc.js';
import { wrrScheduler } from './wrr.js';

const modules: readonly SchedulerModule[] = [
  rrScheduler,
  wrrScheduler,
  lcScheduler,
  wlcScheduler,
  sedScheduler,
  nqScheduler,
  shScheduler,
  dhScheduler,
  lblcScheduler,
  lblcrScheduler,
  mhScheduler,
  foScheduler,
  ovfScheduler,
  twosScheduler,
];

const byName = new Map<string, SchedulerModule>(modules.map((m) => [m.name, m]));

/** Every registered scheduler name, in ipvsadm's order. */
export const schedulerNames: readonly SchedulerName[] = modules.map((m) => m.name);

/** The module registered under `name`, or undefined (names are case-sensitive, as ipvsadm's). */
export function getScheduler(name: string): SchedulerModule | undefined {
  return byName.get(name);
}

/**
 * A new scheduler instance for one virtual service. Call `update()` with its dests before
 * the first `pick()`. Throws `ERR_SCHED_UNKNOWN` for a name that is not registered.
 */
export function createScheduler(name: string, opts: SchedulerOptions): Scheduler {
  const m = byName.get(name);
  if (m === undefined) {
    throw new LvsdError('ERR_SCHED_UNKNOWN', `unknown scheduler "${name}" (known: ${schedulerNames.join(', ')})`);
  }
  return m.create(opts);
}

export type { Dest, FlowKey, Scheduler, SchedulerModule, SchedulerOptions } from './types.js';
export { connOverhead, overloadAfterBind, overloadAfterThresholdChange, overloadAfterUnbind, totalConns, updateOverload } from './dest-load.js';
export { DestList } from './dest-list.js';
