import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeGate } from '../../../src/check/probe-gate.js';

test('ProbeGate starts at most perTurn probes per turn, in order, and drains everything', () => {
  const turns: Array<() => void> = [];
  const gate = new ProbeGate(3, (fn) => turns.push(fn));
  const started: number[] = [];
  for (let i = 0; i < 8; i++) gate.enqueue(() => started.push(i));
  assert.deepEqual(started, [0, 1, 2], 'the first perTurn start at once');
  assert.equal(gate.pending, 5);
  assert.equal(turns.length, 1, 'one deferred turn scheduled');
  turns.shift()!();
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  gate.enqueue(() => started.push(8));
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5], 'a late start queues behind the earlier ones');
  turns.shift()!();
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  turns.shift()!(); // resets the budget
  assert.equal(turns.length, 0, 'idle once drained');
  assert.equal(gate.pending, 0);
  gate.enqueue(() => started.push(9));
  assert.equal(started.at(-1), 9, 'a start on a quiet turn runs at once');
});

test('a start that throws does not stall the queue', () => {
  const turns: Array<() => void> = [];
  const gate = new ProbeGate(1, (fn) => turns.push(fn));
  const started: string[] = [];
  gate.enqueue(() => {
    throw new Error('boom');
  });
  gate.enqueue(() => started.push('b'));
  gate.enqueue(() => started.push('c'));
  for (let i = 0; i < 10 && turns.length; i++) turns.shift()!();
  assert.deepEqual(started, ['b', 'c']);
});
