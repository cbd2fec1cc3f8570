/**
 * `lvsadm sync`: connection sync's role, settings and counters as text (the `sync` control
 * command; `--json` prints SyncStatus as is).
 */
import type { SyncStatus } from '../../sync/subsystem.js';

/** The text of `lvsadm sync`. */
export function formatSync(result: unknown): string {
  const s = result as SyncStatus;
  if (!s.configured) return 'connection sync: off (no lvs_sync_daemon in the config)';
  const c = s.counters;
  const lines = [
    `connection sync: ${s.role}${s.instance ? ` (${s.instance} ${s.vrrpState ?? 'unknown'})` : ' (no instance: both roles)'}`,
    `  ${s.interface} group ${s.group}:${s.port} ttl ${s.ttl} syncid ${s.syncId}; maxlen master ${s.maxLen?.master} backup ${s.maxLen?.backup}; sync_threshold ${s.rules.threshold} ${s.rules.period}`,
    `  sent:     ${c.messagesSent} messages, ${c.entriesSent} entries (${c.templatesSent} templates), ${c.bytesSent} bytes; ${c.sendErrors} send errors; ${s.pendingEntries} waiting`,
    `  received: ${c.messagesReceived} messages, ${c.entriesReceived} entries (${c.templatesReceived} templates), ${c.bytesReceived} bytes`,
  ];
  const drops = Object.entries(s.dropped).filter(([, v]) => v > 0);
  lines.push(`  dropped:  ${drops.length ? drops.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  const w = s.workers;
  lines.push(`  workers:  inserted ${w.conns_inserted ?? 0} connections, ${w.templates_inserted ?? 0} templates; updated ${w.updated ?? 0}; replaced ${w.replaced ?? 0}; linked ${w.linked ?? 0}`);
  const skipped = ['no_service', 'no_dest', 'dest_method', 'table_full', 'stale'].map((k) => [k, w[k] ?? 0] as const);
  // Entries the main thread could not hand to a worker (it was restarting).
  skipped.push(['undelivered', c.entriesUndelivered]);
  const notApplied = skipped.filter(([, v]) => v > 0);
  const unreported = (['unsupported_method', 'unsupported_family'] as const).filter((k) => (w[k] ?? 0) > 0);
  lines.push(`            not applied: ${notApplied.length ? notApplied.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}; recorded ${w.entries_recorded ?? 0}` +
    `${unreported.length ? ` (not reported: ${unreported.map((k) => `${k} ${w[k]}`).join(', ')})` : ''}, ring full ${w.ring_full ?? 0}, unsent at role change ${c.entriesDiscarded}`);
  return lines.join('\n');
}
