import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectivePriority,
  initialMachineState,
  masterDownIntervalMs,
  shouldCheckAddrList,
  skewMs,
  step,
  type MachineConfig,
  type MachineInput,
  type MachineState,
  type TimerName,
} from '../../../src/vrrp/machine.js';

const cfg: MachineConfig = {
  name: 'VI_1', vrid: 1, version: 3, priority: 100, advertIntervalMs: 1000, initialState: 'BACKUP', preempt: true, preemptDelayMs: 0,
  garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 5000, lowerPrioRepeat: 5, intervalMs: 0, gnaIntervalMs: 0 },
  lowerPrioNoAdvert: false,
};

test('skew and Master_Down_Interval: RFC 3768 §6.1 (v2) and RFC 5798 §6.1 (v3) examples', () => {
  // v2: (256-100)/256 s = 0.609375 s
  assert.equal(skewMs(2, 100, 1000), 609.375);
  assert.equal(masterDownIntervalMs(2, 100, 1000), 3609.375);
  // v2 skew ignores the interval
  assert.equal(skewMs(2, 100, 3000), 609.375);
  // v3 scales with Master_Adver_Interval: 50 cs at priority 200 → 56*0.5/256 s
  assert.equal(skewMs(3, 200, 500), 109.375);
  // priority 255: 1/256 s (v2) truncated to whole microseconds as keepalived does
  assert.equal(skewMs(2, 255, 1000), 3.906);
});

test('effective priority: base + deltas clamped to 1..254, owner untouched', () => {
  const t = (delta: number) => ({ fault: false, pending: false, delta });
  assert.equal(effectivePriority(100, {}), 100);
  assert.equal(effectivePriority(100, { a: t(-30), b: t(10) }), 80);
  assert.equal(effectivePriority(100, { a: t(300) }), 254);
  assert.equal(effectivePriority(100, { a: t(-300) }), 1);
  assert.equal(effectivePriority(255, { a: t(-100) }), 255);
});

test('skip_check_adv_addr: only adverts from the known master skip the address check', () => {
  const s: MachineState = { ...initialMachineState(cfg), masterAddress: '198.18.0.2' };
  assert.equal(shouldCheckAddrList(s, '198.18.0.2', true), false);
  assert.equal(shouldCheckAddrList(s, '198.18.0.3', true), true);
  assert.equal(shouldCheckAddrList(s, '198.18.0.2', false), true);
});

test('fuzz: 20000 random inputs never throw, and the state stays coherent', () => {
  let x = 12345;
  const r = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  const timers: TimerName[] = ['adver', 'master_down', 'garp_delay', 'garp_refresh', 'garp_lower_prio'];
  let s = initialMachineState(cfg, {}, '198.18.0.5');
  let now = 0;
  for (let i = 0; i < 20000; i++) {
    now += Math.floor(r() * 500);
    const k = Math.floor(r() * 7);
    let input: MachineInput;
    if (k === 0) input = { kind: 'start', nowMs: now };
    else if (k === 1) input = { kind: 'advert', nowMs: now, from: `198.18.0.${1 + Math.floor(r() * 9)}`, priority: Math.floor(r() * 256), advertIntervalMs: 1000 };
    else if (k === 2) input = { kind: 'timer', nowMs: now, timer: timers[Math.floor(r() * timers.length)]! };
    else if (k === 3) input = { kind: 'tracker', nowMs: now, name: `t${Math.floor(r() * 3)}`, status: { fault: r() < 0.2, pending: r() < 0.05, delta: Math.floor(r() * 100) - 50 } };
    else if (k === 4) input = { kind: 'sync', nowMs: now, to: (['MASTER', 'BACKUP', 'FAULT'] as const)[Math.floor(r() * 3)]! };
    else if (k === 5) input = { kind: 'reconfigure', nowMs: now, cfg: { ...cfg, priority: 1 + Math.floor(r() * 254) } };
    else input = r() < 0.01 ? { kind: 'shutdown', nowMs: now } : { kind: 'local_address', nowMs: now, address: '198.18.0.5' };
    const res = step(s, input);
    s = res.state;
    // coherence: VIPs are set exactly in MASTER; a BACKUP always has a down deadline; priorities in range
    assert.equal(s.vipsSet, s.state === 'MASTER', `step ${i}: vipsSet in ${s.state}`);
    if (s.state === 'BACKUP') assert.ok(s.downAtMs !== null);
    assert.ok(s.effectivePriority >= 1 && s.effectivePriority <= 255);
    for (const e of res.effects) if (e.kind === 'transition') assert.notEqual(e.from, e.to);
    if (s.state === 'STOP') s = initialMachineState(cfg, {}, '198.18.0.5');
  }
});
