import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { ioFirstClock, systemClock, type Clock } from '../../../src/lib/clock.js';

/** Arms a 5 ms timer, makes data readable, stalls the loop 60 ms: which runs first? */
async function order(clock: Clock): Promise<string[]> {
  const seen: string[] = [];
  let serverSide: Socket | null = null;
  const server = createServer((s) => { serverSide = s; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  while (!serverSide) await new Promise((r) => setImmediate(r));
  const done = new Promise<void>((resolve) => {
    client.once('data', () => { seen.push('io'); if (seen.length === 2) resolve(); });
    clock.setTimer(5, () => { seen.push('timer'); if (seen.length === 2) resolve(); });
  });
  (serverSide as Socket).write('advert');
  const end = performance.now() + 60;
  while (performance.now() < end) { /* a stalled loop: both the timer and the socket become ready */ }
  await done;
  client.destroy();
  (serverSide as Socket).destroy();
  await new Promise((r) => server.close(r));
  return seen;
}

test('after a stall, the system clock runs a due timer before pending I/O; the I/O-first clock reads first', async () => {
  assert.deepEqual(await order(systemClock), ['timer', 'io']);
  assert.deepEqual(await order(ioFirstClock), ['io', 'timer']);
});

test('cancelling an I/O-first timer between expiry and its run stops it', async () => {
  let ran = false;
  const h = ioFirstClock.setTimer(1, () => { ran = true; });
  // Same duration, armed after it: Node keeps one list per duration in arming order, so once
  // both are due this runs in the same timers phase right after the clock's timer scheduled
  // its immediate, and before the check phase would run it. (A 0 ms timer armed after the
  // stall could fall due a millisecond too late and let the immediate run first.)
  setTimeout(() => h.cancel(), 1);
  const end = performance.now() + 10;
  while (performance.now() < end) { /* let both fall due */ }
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ran, false);
});
