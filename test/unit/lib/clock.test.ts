import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/clock.js';

test('manual clock fires timers in deadline order, ties in arming order, skips cancelled', () => {
  const c = new ManualClock(1000);
  const fired: string[] = [];
  c.setTimer(50, () => fired.push(`b@${c.now()}`));
  c.setTimer(10, () => { fired.push(`a@${c.now()}`); c.setTimer(5, () => fired.push(`c@${c.now()}`)); });
  const t = c.setTimer(20, () => fired.push('never'));
  c.setTimer(50, () => fired.push(`d@${c.now()}`));
  t.cancel();
  c.advance(100);
  assert.deepEqual(fired, ['a@1010', 'c@1015', 'b@1050', 'd@1050']);
  assert.equal(c.now(), 1100);
  assert.equal(c.armed, 0);
});
