import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateEstimator } from '../../../src/forward/estimator.js';

test('a steady rate converges to itself (W = 1/4 per 2 s step, as ip_vs_est.c)', () => {
  const e = new RateEstimator();
  const t = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
  e.tick(t);
  for (let i = 1; i <= 80; i++) {
    t.conns += 200; t.inpkts += 2000; t.outpkts += 1000; t.inbytes += 2_000_000; t.outbytes += 100_000;
    e.tick(t);
    if (i === 1) assert.equal(e.read().cps, 25, 'first step: a quarter of 100/s');
  }
  assert.deepEqual(e.read(), { cps: 100, inpps: 1000, outpps: 500, inbps: 1_000_000, outbps: 50_000 });
  // Traffic stops: the average decays by 3/4 per step.
  e.tick(t);
  assert.equal(e.read().cps, 75);
  e.zero(t);
  assert.equal(e.read().cps, 0);
});
