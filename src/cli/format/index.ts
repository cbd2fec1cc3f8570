/**
 * Registry of lvsadm text formatters by view name. Each area's formatter lives in its own
 * file (vrrp.ts, checks.ts, lvs.ts) and is registered here.
 */
import type { LvsResult } from '../../forward/subsystem.js';
import type { TraceResult } from '../../forward/pipeline.js';
import { formatChecks } from './checks.js';
import { formatConnections, formatList, formatTimeout, formatTrace } from './lvs.js';
import { formatVrrp } from './vrrp.js';
import { formatSync } from './sync.js';

/** Formats a control command's result as text; `args` are the request's arguments. */
export type Formatter = (result: unknown, args: Record<string, unknown>) => string;

export const lvsadmFormatters: Record<string, Formatter> = {
  vrrp: (r) => formatVrrp(r),
  checks: (r) => formatChecks(r),
  list: (r, a) => formatList(r as LvsResult, { stats: a.stats === true, rate: a.rate === true, exact: a.exact === true }),
  connections: (r) => formatConnections(r as LvsResult),
  timeout: (r) => formatTimeout(r as LvsResult),
  zero: () => 'counters zeroed',
  trace: (r) => formatTrace(r as TraceResult),
  sync: (r) => formatSync(r),
};
