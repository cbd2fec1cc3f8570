/**
 * Registry of lvsadm text formatters by view name. Each area's formatter lives in its own
 * file (vrrp.ts, checks.ts, lvs.ts) and is registered here.
 */

/** Formats a control command's result as text; `args` are the request's arguments. */
export type Formatter = (result: unknown, args: Record<string, unknown>) => string;

export const lvsadmFormatters: Record<string, Formatter> = {};
