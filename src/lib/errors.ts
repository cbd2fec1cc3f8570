/**
 * Errors with stable codes. Every code is listed in docs/errors.md; tests and operators
 * match on `code`, never on the message text.
 */

/** A source position in a config file (1-based line and column). */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** Base class of every error lvsd throws on purpose. */
export class LvsdError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LvsdError';
  }
}

/** One problem found in a config file. Severity `warning` never stops a load. */
export interface ConfigDiagnostic {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly pos: SourcePos | null;
  /** Dotted path in the raw tree, e.g. `vrrp_instance.VI_1.priority`; '' when none. */
  readonly path: string;
  readonly message: string;
}

/** Formats a diagnostic as `file:line:col: path: message` (keepalived users grep for this), or `file: message` about a whole file. */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  // Line 0: a finding about the file as a whole (it cannot be read).
  const where = !d.pos ? '' : d.pos.line === 0 ? `${d.pos.file}: ` : `${d.pos.file}:${d.pos.line}:${d.pos.col}: `;
  const path = d.path ? `${d.path}: ` : '';
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}${sev}${path}${d.message}`;
}

/** Thrown when a config cannot be loaded; carries every diagnostic found, not just the first. */
export class ConfigError extends LvsdError {
  readonly diagnostics: readonly ConfigDiagnostic[];
  constructor(diagnostics: readonly ConfigDiagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super('ERR_CONFIG_INVALID', `${errors.length} error(s) in config:\n` + errors.map(formatDiagnostic).join('\n'));
    this.diagnostics = diagnostics;
    this.name = 'ConfigError';
  }
}
