/**
 * The keyed change set `diff(prev, next)` produces (src/model/diff.ts). Subsystems apply it:
 * untouched keys keep their runtime state (VRRP state, checker history, connections).
 */

/** Keys added, removed and changed (present in both, not deep-equal) in one keyed collection. */
export interface KeyedChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** Everything that differs between two models. */
export interface ChangeSet {
  /** True when `global` differs (any field). */
  readonly global: boolean;
  readonly vrrpScripts: KeyedChanges;
  readonly vrrpTrackFiles: KeyedChanges;
  readonly syncGroups: KeyedChanges;
  readonly instances: KeyedChanges;
  readonly virtualServerGroups: KeyedChanges;
  readonly virtualServers: KeyedChanges;
  /**
   * For each virtual server present in both models: its real servers' changes. A real
   * server is `changed` when any field differs, checkers included.
   */
  readonly realServers: Readonly<Record<string, KeyedChanges>>;
  readonly fwmarkRules: boolean;
  readonly coreVips: KeyedChanges;
}

/** True when the change set changes nothing. */
export function isEmptyChangeSet(c: ChangeSet): boolean {
  const empty = (k: KeyedChanges) => k.added.length + k.removed.length + k.changed.length === 0;
  return (
    !c.global && !c.fwmarkRules &&
    empty(c.vrrpScripts) && empty(c.vrrpTrackFiles) && empty(c.syncGroups) && empty(c.instances) &&
    empty(c.virtualServerGroups) && empty(c.virtualServers) && empty(c.coreVips) &&
    Object.values(c.realServers).every(empty)
  );
}
