import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connOverhead,
  overloadAfterBind,
  overloadAfterThresholdChange,
  overloadAfterUnbind,
  updateOverload,
} from '../../../../src/forward/schedulers/dest-load.js';
import type { Dest } from '../../../../src/forward/schedulers/types.js';
import { dest } from './helpers.js';

/** Drives a dest through bind/unbind steps (+1 / -1 connection) and records the flag. */
function drive(d: Dest, u: number, l: number, steps: number[], combined: boolean): string {
  let out = '';
  for (const s of steps) {
    d.activeConns += s;
    if (combined) updateOverload(d, u, l);
    else if (s > 0) overloadAfterBind(d, u);
    else overloadAfterUnbind(d, u, l);
    out += d.overloaded ? 'O' : '.';
  }
  return out;
}

test('overload: upper threshold sets at >= u; no lower threshold clears below 3/4 of u (ip_vs_conn.c)', () => {
  // u = 8: set at 8 conns; going down (7, 6, 5, 4, 3) cleared when total*4 < 24, i.e. at 5
  const up = Array(8).fill(1);
  const down = Array(5).fill(-1);
  for (const combined of [false, true]) {
    const d = dest(0, 'A', 1);
    assert.equal(drive(d, 8, 0, [...up, ...down], combined), '.......O' + 'OO...', combined ? 'combined' : 'bind/unbind');
  }
});

test('overload: explicit lower threshold clears below l; inactive connections count too', () => {
  for (const combined of [false, true]) {
    const d = dest(0, 'A', 1);
    d.inactiveConns = 2;
    // total = active + 2; u = 6 -> set when active reaches 4; l = 3 -> clear when total < 3 (active 0)
    assert.equal(drive(d, 6, 3, [1, 1, 1, 1, -1, -1, -1, -1], combined), '...OOOO.');
  }
});

test('overload: without thresholds an unbind always clears; persistence templates are not counted', () => {
  const d = dest(0, 'A', 1, { overloaded: true, persistConns: 100 });
  overloadAfterBind(d, 0);
  assert.equal(d.overloaded, true); // bind never clears
  overloadAfterUnbind(d, 0, 0);
  assert.equal(d.overloaded, false);
  const t = dest(1, 'B', 1, { persistConns: 50 });
  overloadAfterBind(t, 10);
  assert.equal(t.overloaded, false);
});

test('overload: reconfiguring the upper threshold clears it when raised or removed (__ip_vs_update_dest)', () => {
  const d = dest(0, 'A', 1, { overloaded: true, activeConns: 10 });
  overloadAfterThresholdChange(d, 10, 5);
  assert.equal(d.overloaded, true);
  overloadAfterThresholdChange(d, 10, 20);
  assert.equal(d.overloaded, false);
  d.overloaded = true;
  overloadAfterThresholdChange(d, 10, 0);
  assert.equal(d.overloaded, false);
});

test('conn overhead: activeconns * 256 + inactconns', () => {
  assert.equal(connOverhead(dest(0, 'A', 1, { activeConns: 3, inactiveConns: 7 })), 775);
});
