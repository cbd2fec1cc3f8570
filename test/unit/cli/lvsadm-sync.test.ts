import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLvsadmArgs, UsageError } from '../../../src/cli/lvsadm.js';
import { formatSync } from '../../../src/cli/format/sync.js';
import type { SyncStatus } from '../../../src/sync/subsystem.js';
import { SYNC_DROP_REASONS } from '../../../src/sync/codec.js';

test('lvsadm sync [--json] asks the sync control command; it takes no arguments', () => {
  assert.deepEqual(parseLvsadmArgs(['sync'], {}), { control: '/run/lvsd/lvsd.sock', json: false, cmd: 'sync', args: {}, view: 'sync' });
  assert.equal(parseLvsadmArgs(['--json', 'sync'], {}).json, true);
  assert.throws(() => parseLvsadmArgs(['sync', 'now'], {}), UsageError);
});

test('lvsadm sync prints the role, the endpoint, what was sent and received, drops by reason and what the workers did', () => {
  const dropped = Object.fromEntries(SYNC_DROP_REASONS.map((r) => [r, 0])) as SyncStatus['dropped'];
  dropped.syncid = 2;
  const s: SyncStatus = {
    configured: true, role: 'master', instance: 'VI_1', vrrpState: 'MASTER', interface: 'eth1', group: '224.0.0.81', port: 8848, ttl: 1, syncId: 51,
    maxLen: { master: 1472, backup: 1472 }, rules: { threshold: 3, period: 50 },
    counters: { messagesSent: 4, entriesSent: 120, templatesSent: 3, bytesSent: 5000, sendErrors: 0, entriesDiscarded: 1, messagesReceived: 7, bytesReceived: 900, entriesReceived: 20, templatesReceived: 0, entriesUndelivered: 0 },
    dropped, workers: { conns_inserted: 20, updated: 5, no_dest: 1, ring_full: 0, entries_recorded: 120 }, pendingEntries: 2,
  };
  const text = formatSync(s);
  assert.match(text, /^connection sync: master \(VI_1 MASTER\)/);
  assert.match(text, /eth1 group 224\.0\.0\.81:8848 ttl 1 syncid 51/);
  assert.match(text, /sent: +4 messages, 120 entries \(3 templates\)/);
  assert.match(text, /dropped: +syncid 2/);
  assert.match(text, /not applied: no_dest 1; recorded 120, ring full 0/);
  const more = formatSync({ ...s, counters: { ...s.counters, entriesUndelivered: 4 }, workers: { ...s.workers, unsupported_method: 2, unsupported_family: 1 } });
  assert.match(more, /not applied: no_dest 1, undelivered 4; recorded 120 \(not reported: unsupported_method 2, unsupported_family 1\)/);
  assert.equal(formatSync({ ...s, configured: false }), 'connection sync: off (no lvs_sync_daemon in the config)');
});
