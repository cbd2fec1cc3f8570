/**
 * diff(prev, next): what a reload changes, keyed (src/model/changes.ts). Subsystems apply it
 * and keep the runtime state of every key it does not name (ARCHITECTURE D8; keepalived
 * does the same in check/ipwrapper.c `clear_diff_services` and vrrp `clear_diff_vrrp`).
 *
 * A virtual server is `changed` when one of its own fields differs; changes limited to its
 * real servers are reported in `realServers[vsKey]` only, so a service whose pool changed
 * keeps its connections and its other real servers keep their checker state.
 */
import type { ChangeSet, KeyedChanges } from './changes.js';
import { deepEqual } from '../lib/deep-equal.js';

export { deepEqual };
import type { Model, VirtualServer } from './types.js';

/** Keys added, removed and changed between two keyed records (order: the records' order). */
export function diffKeyed<T>(prev: Readonly<Record<string, T>>, next: Readonly<Record<string, T>>, equal: (a: T, b: T) => boolean = deepEqual): KeyedChanges {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const k of Object.keys(next)) {
    if (!Object.prototype.hasOwnProperty.call(prev, k)) added.push(k);
    else if (!equal(prev[k]!, next[k]!)) changed.push(k);
  }
  for (const k of Object.keys(prev)) if (!Object.prototype.hasOwnProperty.call(next, k)) removed.push(k);
  return { added, removed, changed };
}

const withoutReals = ({ realServers: _r, ...rest }: VirtualServer) => rest;

/** The keyed change set from `prev` to `next`. */
export function diff(prev: Model, next: Model): ChangeSet {
  const realServers: Record<string, KeyedChanges> = {};
  for (const k of Object.keys(next.virtualServers)) {
    const a = prev.virtualServers[k];
    if (!a) continue;
    const rc = diffKeyed(a.realServers, next.virtualServers[k]!.realServers);
    if (rc.added.length + rc.removed.length + rc.changed.length > 0) realServers[k] = rc;
  }
  return {
    global: !deepEqual(prev.global, next.global),
    vrrpScripts: diffKeyed(prev.vrrpScripts, next.vrrpScripts),
    vrrpTrackFiles: diffKeyed(prev.vrrpTrackFiles, next.vrrpTrackFiles),
    syncGroups: diffKeyed(prev.syncGroups, next.syncGroups),
    instances: diffKeyed(prev.instances, next.instances),
    virtualServerGroups: diffKeyed(prev.virtualServerGroups, next.virtualServerGroups),
    virtualServers: diffKeyed(prev.virtualServers, next.virtualServers, (a, b) => deepEqual(withoutReals(a), withoutReals(b))),
    realServers,
    fwmarkRules: !deepEqual(prev.fwmarkRules, next.fwmarkRules),
    coreVips: diffKeyed(prev.coreVips, next.coreVips),
  };
}

/** Per-kind counts, the `summary` of a `config.applied` event (src/events/types.ts). */
export type ChangeSummary = Record<string, { added: number; removed: number; changed: number }>;

/**
 * Counts per kind, always with every kind (a stable shape for log readers): `global` and
 * `fwmarkRules` count 1 changed when they differ; `realServers` sums every service.
 */
export function summarizeChanges(cs: ChangeSet): ChangeSummary {
  const n = (k: KeyedChanges) => ({ added: k.added.length, removed: k.removed.length, changed: k.changed.length });
  const reals = { added: 0, removed: 0, changed: 0 };
  for (const k of Object.values(cs.realServers)) {
    reals.added += k.added.length;
    reals.removed += k.removed.length;
    reals.changed += k.changed.length;
  }
  return {
    global: { added: 0, removed: 0, changed: cs.global ? 1 : 0 },
    vrrpScripts: n(cs.vrrpScripts),
    vrrpTrackFiles: n(cs.vrrpTrackFiles),
    syncGroups: n(cs.syncGroups),
    instances: n(cs.instances),
    virtualServerGroups: n(cs.virtualServerGroups),
    virtualServers: n(cs.virtualServers),
    realServers: reals,
    fwmarkRules: { added: 0, removed: 0, changed: cs.fwmarkRules ? 1 : 0 },
    coreVips: n(cs.coreVips),
  };
}
