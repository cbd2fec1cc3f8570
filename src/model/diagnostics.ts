/**
 * Diagnostic codes of configuration loading (listed in docs/errors.md, section
 * "Configuration") and the collector every stage reports into. Nothing here throws: every
 * stage records what it finds and carries on, so one run reports every problem at once.
 * Lives in model/ because `compile()` reports with the same codes; src/config re-exports it.
 */
import type { ConfigDiagnostic, SourcePos } from '../lib/errors.js';

/** Stable diagnostic codes. Errors stop a load; `WARN_*` never do. */
export const CODES = {
  /** The main config file cannot be read (missing, a directory, permission). */
  IO: 'ERR_CONFIG_IO',
  /** An `include` names a file (no wildcard) that does not exist or cannot be read. */
  INCLUDE_MISSING: 'ERR_CONFIG_INCLUDE_MISSING',
  /** An `include` would read a file that is already being read. */
  INCLUDE_CYCLE: 'ERR_CONFIG_INCLUDE_CYCLE',
  /** Braces, quotes, `$NAME` definitions, `~SEQ`, a block where none belongs, ... */
  SYNTAX: 'ERR_CONFIG_SYNTAX',
  /** YAML that does not parse, or a YAML node of the wrong shape. */
  YAML: 'ERR_CONFIG_YAML',
  /** A keyword that is valid nowhere here (with "did you mean"). */
  UNKNOWN_KEYWORD: 'ERR_CONFIG_UNKNOWN_KEYWORD',
  /** A value of the wrong type, format or range. */
  VALUE: 'ERR_CONFIG_VALUE',
  /** A required keyword is missing. */
  MISSING: 'ERR_CONFIG_MISSING',
  /** The same object (instance, virtual server, real server, ...) defined twice. */
  DUPLICATE: 'ERR_CONFIG_DUPLICATE',
  /** A reference to something not defined (vrrp_script, group, instance, ...). */
  REFERENCE: 'ERR_CONFIG_REFERENCE',
  /** Two valid parts that cannot both hold (duplicate VRID, VIP in two services, ...). */
  CONFLICT: 'ERR_CONFIG_CONFLICT',
  /** A value lvsd recognises but rejects for now (`protocol SCTP`). */
  NOT_SUPPORTED: 'ERR_CONFIG_NOT_SUPPORTED',
  /** `virtual_server fwmark N` without lvsd's `fwmark_rules N { }`. */
  FWMARK_RULES: 'ERR_CONFIG_FWMARK_RULES',
  /** A virtual server that no VRRP instance holds and no `lvs_interface` serves. */
  OWNERSHIP: 'ERR_CONFIG_OWNERSHIP',
  /** A keepalived keyword lvsd accepts but does not act on yet. */
  W_UNSUPPORTED: 'WARN_CONFIG_UNSUPPORTED',
  /** A keyword keepalived itself calls deprecated. */
  W_DEPRECATED: 'WARN_CONFIG_DEPRECATED',
  /** A keyword given twice in one block: the last one wins, as in keepalived. */
  W_REPEATED: 'WARN_CONFIG_REPEATED',
  /** An include pattern with wildcards that matched no file, or a file skipped. */
  W_INCLUDE: 'WARN_CONFIG_INCLUDE',
  /** A value keepalived adjusts with a warning (quorum above the weights, ports reset, ...). */
  W_ADJUSTED: 'WARN_CONFIG_ADJUSTED',
} as const;

export type ConfigCode = (typeof CODES)[keyof typeof CODES];

/** Collects diagnostics in the order found. */
export class Diagnostics {
  readonly list: ConfigDiagnostic[] = [];

  add(code: string, severity: 'error' | 'warning', pos: SourcePos | null, path: string, message: string): void {
    this.list.push({ code, severity, pos, path, message });
  }

  error(code: string, pos: SourcePos | null, path: string, message: string): void {
    this.add(code, 'error', pos, path, message);
  }

  warn(code: string, pos: SourcePos | null, path: string, message: string): void {
    this.add(code, 'warning', pos, path, message);
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.list) if (d.severity === 'error') n++;
    return n;
  }
}

