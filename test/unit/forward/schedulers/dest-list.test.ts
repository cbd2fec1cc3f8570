import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestList } from '../../../../src/forward/schedulers/dest-list.js';
import { dest } from './helpers.js';

const keys = (l: DestList) => l.dests.map((d) => d.key);

test('dest list: config order becomes the kernel list, newest at the head (list_add_rcu)', () => {
  const [a, b, c, d] = [dest(0, 'A', 1), dest(1, 'B', 1), dest(2, 'C', 1), dest(3, 'D', 1)];
  const l = new DestList();
  l.sync([a!, b!, c!]);
  assert.deepEqual(keys(l), ['C', 'B', 'A']);
  assert.deepEqual(l.added, ['A', 'B', 'C']);
  l.sync([a!, b!, c!, d!]); // D added
  assert.deepEqual(keys(l), ['D', 'C', 'B', 'A']);
  l.sync([a!, c!, d!]); // B removed (real server down): the others keep their places
  assert.deepEqual(keys(l), ['D', 'C', 'A']);
  l.sync([a!, b!, c!, d!]); // B back (real server up): re-added at the head
  assert.deepEqual(keys(l), ['B', 'D', 'C', 'A']);
  assert.deepEqual(l.added, ['B']);
  assert.deepEqual(l.previous.map((x) => x.key), ['D', 'C', 'A']);
});

test('dest list: a new object under the same key replaces the old in place; duplicates are ignored', () => {
  const l = new DestList();
  l.sync([dest(0, 'A', 1), dest(1, 'B', 1)]);
  const b2 = dest(1, 'B', 7);
  l.sync([dest(0, 'A', 1), b2, dest(2, 'B', 9)]);
  assert.deepEqual(keys(l), ['B', 'A']);
  assert.equal(l.dests[0], b2);
  assert.deepEqual(l.added, []);
});
