/**
 * Prometheus series of connection sync, read at scrape time from SyncSubsystem.status():
 * messages, entries and bytes sent and received, drops by reason, what the workers did
 * with entries (by outcome), and the role as a gauge.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SyncStatus } from './subsystem.js';

/** Registers the series; returns the function that removes them. */
export function registerSyncMetrics(registry: Registry, getStatus: () => SyncStatus): () => void {
  const names: string[] = [];
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: SyncStatus) => void) => {
    names.push(name);
    return new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        fill(this, getStatus());
      },
    });
  };
  counter('lvsd_sync_messages_total', 'Connection sync messages by direction', ['direction'], (c, s) => {
    c.inc({ direction: 'sent' }, s.counters.messagesSent);
    c.inc({ direction: 'received' }, s.counters.messagesReceived);
  });
  counter('lvsd_sync_entries_total', 'Connection sync entries (connections and templates) by direction and kind', ['direction', 'kind'], (c, s) => {
    c.inc({ direction: 'sent', kind: 'connection' }, s.counters.entriesSent - s.counters.templatesSent);
    c.inc({ direction: 'sent', kind: 'template' }, s.counters.templatesSent);
    c.inc({ direction: 'received', kind: 'connection' }, s.counters.entriesReceived - s.counters.templatesReceived);
    c.inc({ direction: 'received', kind: 'template' }, s.counters.templatesReceived);
  });
  counter('lvsd_sync_bytes_total', 'Connection sync message bytes (UDP payload) by direction', ['direction'], (c, s) => {
    c.inc({ direction: 'sent' }, s.counters.bytesSent);
    c.inc({ direction: 'received' }, s.counters.bytesReceived);
  });
  counter('lvsd_sync_dropped_total', 'Received sync messages (or entries) dropped, by reason', ['reason'], (c, s) => {
    for (const [k, v] of Object.entries(s.dropped)) c.inc({ reason: k }, v);
  });
  counter('lvsd_sync_lost_total', 'Sync entries lost on the master: ring full, send errors, unsent at a role change', ['cause'], (c, s) => {
    c.inc({ cause: 'ring_full' }, s.workers.ring_full ?? 0);
    c.inc({ cause: 'send_error' }, s.counters.sendErrors);
    c.inc({ cause: 'role_change' }, s.counters.entriesDiscarded);
  });
  counter('lvsd_sync_worker_entries_total', 'What the forwarding workers did with sync entries, by outcome', ['outcome'], (c, s) => {
    for (const [k, v] of Object.entries(s.workers)) if (k !== 'ring_full') c.inc({ outcome: k }, v);
    c.inc({ outcome: 'undelivered' }, s.counters.entriesUndelivered);
  });
  names.push('lvsd_sync_role');
  new Gauge({
    name: 'lvsd_sync_role', help: 'Connection sync role running (1) by role', labelNames: ['role'], registers: [registry],
    collect() {
      this.reset();
      const r = getStatus().role;
      this.set({ role: 'master' }, r === 'master' || r === 'master+backup' ? 1 : 0);
      this.set({ role: 'backup' }, r === 'backup' || r === 'master+backup' ? 1 : 0);
    },
  });
  return () => {
    for (const n of names) registry.removeSingleMetric(n);
  };
}
