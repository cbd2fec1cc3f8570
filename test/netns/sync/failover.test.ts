/**
 * Connection sync with a real director pair (two lvsd daemons from keepalived.conf files
 * with `lvs_sync_daemon eth1 VI_FRONT`, NAT, the lab's network): long-lived client sessions
 * — streaming HTTP downloads, line echo sessions, keep-alive HTTP, keep-alive HTTP to a
 * persistent service — run through the MASTER; its lvsd is SIGKILLed; the BACKUP takes over
 * and every session goes on, on its socket, without a reset; new connections of the client
 * to the persistent service stay on its real server (the template was synced). Then the
 * first director comes back, receives the connections from the new MASTER (sync runs the
 * other way), preempts after preempt_delay, and the sessions go on again. The control: the
 * same failover without sync resets the request/response sessions and stalls the downloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns } from '../../../src/lab/topology.js';
import { LAB, PERSIST_PORT, SyncPair, sleep, transition, type SessionReport, type Sessions } from './lib/sync-pair.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const MIX = { streams: 4, echo: 4, keepalive: 4, persist: 2 };
const TOTAL = MIX.streams + MIX.echo + MIX.keepalive + MIX.persist;

/** For each session: ms from t0 until its bytes passed what it had at t0 (null: never, by the last report). */
function resumedAfter(s: Sessions, t0: number): (number | null)[] {
  const base = s.at(t0)!;
  return base.sessions.map((b) => {
    const r = s.reports.find((x) => x.t >= t0 && x.sessions[b.id]!.bytes > b.bytes);
    return r ? r.t - t0 : null;
  });
}

/** Sessions whose bytes grew between two reports, and those with an error or closed. */
function progress(a: SessionReport, b: SessionReport): { grew: number; broken: string[] } {
  let grew = 0;
  const broken: string[] = [];
  for (const x of b.sessions) {
    if (x.bytes > a.sessions[x.id]!.bytes) grew++;
    if (x.error || x.closed) broken.push(`${x.kind}#${x.id} ${x.error ?? 'closed'}`);
  }
  return { grew, broken };
}

/** Client ports of the sessions found in a director's table. */
async function syncedPorts(p: SyncPair, name: string, r: SessionReport): Promise<number> {
  const rows = await p.conns(name);
  const ports = new Set(rows.filter((x) => !x.template && x.source.startsWith(`${LAB.client.address}:`)).map((x) => Number(x.source.split(':')[1])));
  return r.sessions.filter((x) => ports.has(x.lport)).length;
}

test('with connection sync, established sessions survive a SIGKILL of the MASTER and the preempting hand-back', { skip, timeout: 180_000 }, async (t) => {
  const p = await SyncPair.start({ sync: true, preemptDelayS: 15 });
  try {
    const dir1 = p.d('dir1');
    const dir2 = p.d('dir2');
    const s = p.sessions(MIX);
    const ready = await s.waitReady(15_000);
    const persistServer = ready.sessions.find((x) => x.kind === 'persist')!.server;
    assert.ok(persistServer, 'the persistent sessions know their real server');
    assert.ok(ready.sessions.filter((x) => x.kind === 'persist').every((x) => x.server === persistServer), 'both persistent sessions on one real server');
    // Let dir1 sync them: reported at their 3rd packet, sent within IPVS_SYNC_FLUSH_TIME (2 s).
    await sleep(3000);
    const onBackup = await syncedPorts(p, 'dir2', s.last!);
    const tmpls = (await p.conns('dir2')).filter((x) => x.template && x.virtual.endsWith(`:${PERSIST_PORT}`));
    t.diagnostic(`dir2 holds ${onBackup}/${TOTAL} sessions and ${tmpls.length} template(s) before the failover`);
    assert.equal(onBackup, TOTAL, 'the BACKUP holds every session before the failover');
    assert.equal(tmpls.length, 1, 'and the persistence template');

    // ── failover: dir1's lvsd dies without a word.
    const killAt = Date.now();
    await dir1.stop('SIGKILL');
    const took = await dir2.waitEvent(transition('MASTER', 'VI_FRONT', killAt), 5000, 'dir2 MASTER');
    await dir2.waitEvent((e) => e.event === 'sync.role' && e.to === 'master' && e.t >= killAt, 2000, 'dir2 sync master');
    await sleep(4000);
    const resumed = resumedAfter(s, killAt);
    const afterKill = progress(s.at(took.t + 1500)!, s.last!);
    t.diagnostic(`failover: dir2 MASTER ${took.t - killAt} ms after the kill; sessions resumed after ${JSON.stringify(resumed)} ms`);
    assert.deepEqual(afterKill.broken, [], 'no session was reset or closed');
    assert.equal(afterKill.grew, TOTAL, 'every session is moving on the new MASTER');
    assert.ok(resumed.every((x) => x !== null && x < 4000), 'each resumed within 4 s of the kill');
    // New connections of the client to the persistent service: the synced template keeps them on its real server.
    const fresh: string[] = [];
    for (let i = 0; i < 6; i++) fresh.push(await p.get(PERSIST_PORT));
    assert.deepEqual(fresh, Array(6).fill(persistServer), 'new connections stay on the persistent real server');
    const st2 = await p.syncStatus('dir2');
    assert.ok(st2.workers.conns_inserted! >= TOTAL && st2.workers.templates_inserted! >= 1, JSON.stringify(st2.workers));
    assert.equal(Object.values(st2.dropped).reduce((a, b) => a + b, 0), 0, 'nothing dropped on receipt');

    // ── hand-back: dir1 returns as BACKUP, gets the sessions from dir2, and preempts after 15 s.
    const backAt = Date.now();
    await p.startDirector('dir1');
    await p.realsUp('dir1', backAt);
    await dir1.waitEvent((e) => e.event === 'sync.role' && e.to === 'backup' && e.t >= backAt, 5000, 'dir1 sync backup');
    const preempted = await dir1.waitEvent(transition('MASTER', 'VI_FRONT', backAt), 40_000, 'dir1 MASTER again');
    const st1 = await p.syncStatus('dir1');
    t.diagnostic(`hand-back: dir1 MASTER ${preempted.t - backAt} ms after its restart; it had received ${st1.counters.entriesReceived} entries, inserted ${st1.workers.conns_inserted}`);
    await sleep(4000);
    const afterBack = progress(s.at(preempted.t + 1500)!, s.last!);
    assert.deepEqual(afterBack.broken, [], 'no session was reset or closed by the hand-back');
    assert.equal(afterBack.grew, TOTAL, 'every session is moving on dir1 again');
    const final = await s.stop();
    const servers = final!.sessions.filter((x) => x.kind === 'persist').map((x) => x.server);
    assert.ok(servers.every((x) => x === persistServer));
    console.log(`SYNC_MEASURE ${JSON.stringify({
      sessions: TOTAL, survivedFailover: afterKill.grew, survivedHandBack: afterBack.grew,
      takeoverMs: took.t - killAt, resumeMs: { min: Math.min(...resumed.map((x) => x!)), max: Math.max(...resumed.map((x) => x!)) },
      handBackMs: preempted.t - backAt, dir2Received: st2.counters.entriesReceived, dir1Received: st1.counters.entriesReceived,
    })}`);
  } finally {
    await p.cleanup();
  }
});

test('the control: without connection sync the same failover resets the request/response sessions and stalls the downloads', { skip, timeout: 120_000 }, async (t) => {
  const p = await SyncPair.start({ sync: false });
  try {
    const s = p.sessions(MIX);
    await s.waitReady(15_000);
    await sleep(3000);
    assert.equal(await syncedPorts(p, 'dir2', s.last!), 0, 'the BACKUP knows none of them');
    const killAt = Date.now();
    await p.d('dir1').stop('SIGKILL');
    const took = await p.d('dir2').waitEvent(transition('MASTER', 'VI_FRONT', killAt), 5000, 'dir2 MASTER');
    await sleep(4000);
    const last = s.last!;
    const base = s.at(took.t + 1500)!;
    const reset = last.sessions.filter((x) => x.error === 'ECONNRESET');
    const stalled = last.sessions.filter((x) => !x.error && x.bytes === base.sessions[x.id]!.bytes);
    t.diagnostic(`without sync: ${reset.length} reset (${[...new Set(reset.map((x) => x.kind))].join(',')}), ${stalled.length} stalled (${[...new Set(stalled.map((x) => x.kind))].join(',')}) of ${TOTAL}`);
    assert.equal(reset.length + stalled.length, TOTAL, 'every session broke');
    assert.ok(last.sessions.filter((x) => x.kind !== 'stream').every((x) => x.error === 'ECONNRESET'), 'the sessions that send were reset');
    await s.stop();
    console.log(`SYNC_MEASURE ${JSON.stringify({ control: true, sessions: TOTAL, reset: reset.length, stalled: stalled.length, takeoverMs: took.t - killAt })}`);
  } finally {
    await p.cleanup();
  }
});

