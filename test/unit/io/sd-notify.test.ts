import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdNotify, sdReady, sdWatchdogTimeoutMs } from '../../../src/io/sd-notify.js';

test('sd-notify is a no-op off systemd', () => {
  const saved = process.env['NOTIFY_SOCKET'];
  delete process.env['NOTIFY_SOCKET'];
  try {
    assert.equal(sdNotify('READY=1'), false);
    assert.equal(sdReady('up'), false);
  } finally {
    if (saved !== undefined) process.env['NOTIFY_SOCKET'] = saved;
  }
});

test('watchdog timeout from WATCHDOG_USEC, only for our PID', () => {
  assert.equal(sdWatchdogTimeoutMs({}, 10), null);
  assert.equal(sdWatchdogTimeoutMs({ WATCHDOG_USEC: '20000000' }, 10), 20000);
  assert.equal(sdWatchdogTimeoutMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '10' }, 10), 20000);
  assert.equal(sdWatchdogTimeoutMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '11' }, 10), null);
  assert.equal(sdWatchdogTimeoutMs({ WATCHDOG_USEC: 'x' }, 10), null);
});
