/** The main thread's real-time priority setting (src/daemon/realtime.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RT_PRIORITY, raiseMainThreadPriority, rtPriorityFromEnv } from '../../../src/daemon/realtime.js';

test('LVSD_VRRP_RT_PRIORITY: default, 0 turns it off, a bad value falls back to the default', () => {
  assert.equal(rtPriorityFromEnv({}), DEFAULT_RT_PRIORITY);
  assert.equal(rtPriorityFromEnv({ LVSD_VRRP_RT_PRIORITY: '0' }), 0);
  assert.equal(rtPriorityFromEnv({ LVSD_VRRP_RT_PRIORITY: '50' }), 50);
  assert.equal(rtPriorityFromEnv({ LVSD_VRRP_RT_PRIORITY: '100' }), DEFAULT_RT_PRIORITY);
  assert.equal(rtPriorityFromEnv({ LVSD_VRRP_RT_PRIORITY: 'high' }), DEFAULT_RT_PRIORITY);
});

test('priority 0 leaves the scheduling alone; a thread that does not exist is a reported failure, not a throw', async () => {
  assert.deepEqual(await raiseMainThreadPriority(0), { ok: true, detail: 'left alone (LVSD_VRRP_RT_PRIORITY=0)' });
  const r = await raiseMainThreadPriority(10, 2 ** 22 + 12345);
  assert.equal(r.ok, false);
  assert.ok(r.detail.length > 0);
});
