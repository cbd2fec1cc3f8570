import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/events/bus.js';
import { HealthBridge, type HealthSink, type HealthSource } from '../../../src/daemon/wiring.js';
import type { Model } from '../../../src/model/types.js';

const model = {
  virtualServers: { 'tcp:198.18.0.10:80': { realServers: { '198.18.1.11:80': { weight: 3 }, '198.18.1.12:80': { weight: 1 } } } },
} as unknown as Model;

test('health bridge syncs everything at start, then one real server per event; weight only when dynamic', async () => {
  const health = [
    { service: 'tcp:198.18.0.10:80', real: '198.18.1.11:80', up: true, weight: 3 },
    { service: 'tcp:198.18.0.10:80', real: '198.18.1.12:80', up: false, weight: 0 },
  ];
  const quorum = [{ service: 'tcp:198.18.0.10:80', quorumUp: true }];
  const source: HealthSource = { health: () => health, quorum: () => quorum };
  const calls: unknown[] = [];
  const sink: HealthSink = {
    setRealHealth: (s, r, h) => { calls.push(['real', s, r, h]); return true; },
    setServiceQuorum: (s, up) => { calls.push(['quorum', s, up]); return true; },
  };
  const bus = new EventBus();
  const b = new HealthBridge(bus, source, sink);
  await b.start(model);
  assert.deepEqual(calls.splice(0), [
    ['real', 'tcp:198.18.0.10:80', '198.18.1.11:80', { up: true }],
    ['real', 'tcp:198.18.0.10:80', '198.18.1.12:80', { up: false }],
    ['quorum', 'tcp:198.18.0.10:80', true],
  ]);
  health[0] = { ...health[0]!, weight: 7 }; // misc_dynamic
  bus.emit({
    type: 'real.weight', service: 'tcp:198.18.0.10:80', real: '198.18.1.11:80', from: 3, to: 7, reason: 'misc_dynamic',
    checker: 'misc:198.18.1.11:80#0', detail: 'exit 9', latencyMs: 4, exitCode: 9,
  });
  bus.emit({
    type: 'service.quorum', service: 'tcp:198.18.0.10:80', up: false, aliveWeight: 0, quorum: 1, hysteresis: 0, sorryServer: null,
    real: '198.18.1.11:80', checker: 'misc:198.18.1.11:80#0', reason: 'script_exit',
  });
  assert.deepEqual(calls.splice(0), [
    ['real', 'tcp:198.18.0.10:80', '198.18.1.11:80', { up: true, weight: 7 }],
    ['quorum', 'tcp:198.18.0.10:80', false],
  ]);
  await b.stop();
  bus.emit({ type: 'real.down', service: 'tcp:198.18.0.10:80', real: '198.18.1.11:80', checker: 'c', reason: 'refused', detail: '', latencyMs: 1 });
  assert.equal(calls.length, 0, 'no pushes after stop');
});
