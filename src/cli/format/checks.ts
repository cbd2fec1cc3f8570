/**
 * Text output of `lvsadm checks`: per virtual service a quorum line, then one row per
 * checker of each real server (the real server's columns on its first checker's row).
 * `--json` prints the ChecksReport itself.
 */
import type { ChecksReport, CheckerReport, RealReport } from '../../check/report.js';

function ago(ms: number | null): string {
  if (ms === null) return '-';
  return `${shortDuration(ms)} ago`;
}

/** 950 → "950ms", 12_300 → "12.3s", 185_000 → "3m5s", 7_500_000 → "2h5m". */
export function shortDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

function realState(r: RealReport): string {
  if (r.up) return 'UP';
  return r.inPool ? 'DOWN(inhibited)' : 'DOWN';
}

function result(c: CheckerReport): string {
  if (c.lastOk === null) return 'pending';
  if (c.lastOk) return 'ok';
  return c.detail && c.detail !== c.reason ? `${c.reason}: ${c.detail}` : String(c.reason);
}

function checkerState(c: CheckerReport): string {
  const s = c.pending ? (c.up ? 'up?' : 'down?') : c.up ? 'up' : 'down';
  return c.suspended ? `${s} (suspended)` : c.retries > 0 ? `${s} (retry ${c.retries})` : s;
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Formats the `checks` command's result. */
export function formatChecks(r: unknown): string {
  const report = r as ChecksReport;
  if (!report.services || report.services.length === 0) return 'no virtual servers';
  const out: string[] = [];
  for (const s of report.services) {
    const hyst = s.hysteresis ? `±${s.hysteresis}` : '';
    let head = `${s.service}  quorum ${s.quorumUp ? 'up' : 'LOST'} (alive weight ${s.aliveWeight}, quorum ${s.quorum}${hyst})`;
    if (s.sorryServer) head += `  sorry server ${s.sorryServer} in service`;
    if (s.suspended) head += '  checks suspended (ha_suspend: instance not MASTER)';
    out.push(head);
    const rows: string[][] = [['  REAL', 'STATE', 'WEIGHT', 'SINCE', 'CHECKER', 'CHECK', 'LAST RESULT', 'LATENCY', 'OK', 'FAIL', 'LAST']];
    for (const real of s.reals) {
      const realCols = [`  ${real.real}`, realState(real), String(real.weight), shortDuration(real.sinceMs)];
      if (real.checkers.length === 0) rows.push([...realCols, '(no checker)', '', '', '', '', '', '']);
      real.checkers.forEach((c, i) => {
        rows.push([
          ...(i === 0 ? realCols : ['', '', '', '']),
          c.checker,
          checkerState(c),
          result(c),
          c.latencyMs === null ? '-' : `${c.latencyMs}ms`,
          String(c.consecutiveOk),
          String(c.consecutiveFail),
          ago(c.lastAgoMs),
        ]);
      });
    }
    out.push(...table(rows));
  }
  return out.join('\n');
}
