/**
 * Diagnostics of the config layer: the codes and collector (shared with `compile()`, defined
 * in src/model/diagnostics.ts) and the display order of a load's findings.
 */
import type { ConfigDiagnostic } from '../lib/errors.js';
import { formatDiagnostic } from '../lib/errors.js';

export { CODES, Diagnostics, type ConfigCode } from '../model/diagnostics.js';

/**
 * One diagnostic as lvsd prints and logs it: `file:line:col: [warning: ]path: message [CODE]`.
 * A finding about a file as a whole (it cannot be read: position line 0) is `file: message [CODE]`.
 */
export function formatConfigDiagnostic(d: ConfigDiagnostic): string {
  return `${formatDiagnostic(d)} [${d.code}]`;
}

/**
 * Orders diagnostics for display: by file (in first-seen order), line, column; stable
 * otherwise, so diagnostics at one position keep the order the stages found them in.
 */
export function sortDiagnostics(list: readonly ConfigDiagnostic[], fileOrder: readonly string[]): ConfigDiagnostic[] {
  const rank = new Map<string, number>();
  fileOrder.forEach((f, i) => rank.set(f, i));
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const pa = a.d.pos;
      const pb = b.d.pos;
      if (!pa || !pb) return pa ? -1 : pb ? 1 : a.i - b.i;
      const fa = rank.get(pa.file) ?? 1e9;
      const fb = rank.get(pb.file) ?? 1e9;
      if (fa !== fb) return fa - fb;
      if (pa.line !== pb.line) return pa.line - pb.line;
      if (pa.col !== pb.col) return pa.col - pb.col;
      return a.i - b.i;
    })
    .map((x) => x.d);
}
