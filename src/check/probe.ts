/**
 * A probe runs one attempt of one checker and reports its outcome; it never throws and
 * never rejects. Probes are small modules registered by checker kind (tcp, http/ssl, misc);
 * the check subsystem creates one per checker and closes it when the checker goes away.
 */
import type { Clock } from '../lib/clock.js';
import type { Checker } from '../model/types.js';
import type { ScriptPort } from '../io/ports.js';
import type { CheckOutcome } from './outcome.js';
import { TcpProbe } from './tcp-probe.js';
import { HttpProbe } from './http-probe.js';
import { MiscProbe } from './misc-probe.js';

/** What the runner tells a probe about the attempt it starts. */
export interface ProbeAttempt {
  /** The attempt repeats a failed attempt of the same check (after delay_before_retry). */
  readonly retry: boolean;
}

/** One checker's attempt runner. */
export interface Probe {
  /** Runs one attempt (default: not a retry). Resolves with an outcome; never rejects. */
  run(attempt?: ProbeAttempt): Promise<CheckOutcome>;
  /**
   * Adopts a new definition of the same checker (a reload changed only its timing, such as
   * connect_timeout or misc_timeout); applies from the next attempt on.
   */
  update(checker: Checker): void;
  /** Releases what the probe holds (an HTTP client); an attempt in flight ends with an outcome. */
  close(): void;
}

/** What probes may use. */
export interface ProbeContext {
  readonly clock: Clock;
  readonly scripts: ScriptPort;
  /** Reports a one-off operator warning (e.g. bind_if not supported). */
  readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Creates the probe of a checker. */
export type ProbeFactory = (checker: Checker, ctx: ProbeContext) => Probe;

/** The real probes: TCP connect, HTTP/HTTPS GET through undici, a script. */
export const createProbe: ProbeFactory = (checker, ctx) => {
  switch (checker.kind) {
    case 'tcp':
      return new TcpProbe(checker, ctx);
    case 'http':
    case 'ssl':
      return new HttpProbe(checker, ctx);
    case 'misc':
      return new MiscProbe(checker, ctx);
  }
};
