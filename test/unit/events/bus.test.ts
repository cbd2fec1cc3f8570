import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/events/bus.js';
import type { LvsdEvent } from '../../../src/events/types.js';

test('bus delivers typed events in order and survives a throwing listener', () => {
  const bus = new EventBus();
  const seen: string[] = [];
  const errors: unknown[] = [];
  bus.onListenerError = (e) => errors.push(e);
  bus.on('daemon.stopping', (ev) => seen.push(`a:${ev.reason}`));
  bus.on('daemon.stopping', () => { throw new Error('boom'); });
  bus.onAny((ev: LvsdEvent) => seen.push(`any:${ev.type}`));
  const off = bus.on('daemon.stopping', () => seen.push('b'));
  bus.emit({ type: 'daemon.stopping', reason: 'SIGTERM' });
  off();
  bus.emit({ type: 'daemon.stopping', reason: 'again' });
  assert.deepEqual(seen, ['a:SIGTERM', 'b', 'any:daemon.stopping', 'a:again', 'any:daemon.stopping']);
  assert.equal(errors.length, 2);
});
