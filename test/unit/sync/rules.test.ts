import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SYNC_RULES, nextPkts, syncNeeded, validRules, type SyncRules } from '../../../src/sync/rules.js';
import { sCL, sCW, sES, sFW, sLA, sNO, sSR, sSS, sTW } from '../../../src/forward/proto/tcp.js';

/** Runs a connection's client-side packets through the rules as the worker does: returns the packet numbers (1-based) reported. */
function reported(rules: SyncRules, proto: number, states: readonly number[], template = false): number[] {
  let stored = 0;
  let old = sNO;
  const out: number[] = [];
  states.forEach((state, i) => {
    stored = nextPkts(rules, stored);
    if (syncNeeded(rules, template, proto, state, old, stored)) {
      old = state;
      out.push(i + 1);
    }
  });
  return out;
}

const es = (n: number) => Array.from({ length: n }, () => sES);

test('TCP: reported at the threshold packet in ESTABLISHED, then every period (3, 53, 103)', () => {
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, [sSR, ...es(150)]), [3, 53, 103]);
});

test('TCP: not reported before ESTABLISHED, nor in SYN_SENT, SYN_RECV, LAST_ACK', () => {
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, [sSS, sSR, sSR, sSR, sLA, sLA, sLA]), []);
});

test('TCP: each closing state is reported at once, once (forced by the state change)', () => {
  // Established at packet 2, reported at 3; FIN at 10 (CLOSE_WAIT), then TIME_WAIT, then CLOSE.
  const s = [sSR, sES, sES, sES, sES, sES, sES, sES, sES, sCW, sCW, sTW, sTW, sCL, sCL];
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, s), [3, 10, 12, 14]);
  // FIN_WAIT is a reported state: forced at the change, then on the period like ESTABLISHED.
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, [sES, sFW, sFW]), [2, 3]);
});

test('TCP: a change into ESTABLISHED alone is not forced (it waits for the threshold)', () => {
  // Back to ESTABLISHED from FIN_WAIT at packet 5 (possible with INPUT-ONLY tables): next report at 53.
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, [sES, sES, sES, sFW, ...es(60)]), [3, 4, 53]);
});

test('UDP: at the threshold and every period, no state logic', () => {
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 17, Array(110).fill(0)), [3, 53, 103]);
});

test('templates: reported every time they are asked (sync_period > 0)', () => {
  assert.deepEqual(reported(DEFAULT_SYNC_RULES, 6, [0, 0, 0, 0], true), [1, 2, 3, 4]);
});

test('sync_period 0: only the threshold packet, and the forced TCP state changes', () => {
  const once: SyncRules = { threshold: 3, period: 0 };
  assert.deepEqual(reported(once, 17, Array(200).fill(0)), [3]);
  assert.deepEqual(reported(once, 6, [sES, sES, sES, ...es(100), sCW]), [3, 104]);
  assert.deepEqual(reported(once, 6, [0, 0, 0, 0], true), [3]);
});

test('the stored count wraps at the period (the kernel compares pkts % period)', () => {
  let s = 0;
  for (let i = 1; i <= 1000; i++) {
    s = nextPkts(DEFAULT_SYNC_RULES, s);
    assert.equal(s, i % 50);
  }
  assert.equal(nextPkts({ threshold: 3, period: 0 }, 0xffff), 0xffff);
});

test('sync_threshold values the kernel accepts', () => {
  assert.equal(validRules({ threshold: 3, period: 50 }), true);
  assert.equal(validRules({ threshold: 50, period: 50 }), false);
  assert.equal(validRules({ threshold: 60, period: 0 }), true);
  assert.equal(validRules({ threshold: -1, period: 50 }), false);
});
