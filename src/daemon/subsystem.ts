import type { Model } from '../model/types.js';
import type { ChangeSet } from '../model/changes.js';

/**
 * A part of the daemon the supervisor starts, reconfigures and stops in order
 * (forwarding core, then checks, then VRRP on start; the reverse on stop).
 */
export interface Subsystem {
  readonly name: string;
  /** Starts with the first model. */
  start(model: Model): Promise<void>;
  /** Moves to `next`; only what `changes` names may be touched. Never called before start. */
  apply(next: Model, changes: ChangeSet): Promise<void>;
  /** Stops; `reason` is 'shutdown' on SIGTERM/SIGINT. Must release everything it claimed. */
  stop(reason: string): Promise<void>;
}
