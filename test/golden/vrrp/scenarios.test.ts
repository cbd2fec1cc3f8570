/**
 * Runs every VRRP scenario in this folder against the pure machine (`step()`), and the
 * sync-group scenarios (`sync-*.json`) against `stepGroup()`.
 *
 * A scenario is data: a config, then steps. A step is an input delivered at a time, or a
 * timer firing (`"timer": name`). The runner keeps the armed timers like a manual clock and
 * refuses a step while an armed timer is due before it, so every timer that fires appears
 * in the file, in order (ties fire in arming order). Effects are compared exactly (numbers
 * to 1e-6 ms); `state` lists the fields of the resulting state that must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  initialMachineState,
  step,
  type MachineConfig,
  type MachineEffect,
  type MachineInput,
  type MachineState,
  type StepContext,
  type TimerName,
  type TrackerStatus,
} from '../../../src/vrrp/machine.js';
import { initialGroupState, startGroup, stepGroup, type GroupEffect, type SyncGroupState } from '../../../src/vrrp/sync-group.js';

const dir = fileURLToPath(new URL('.', import.meta.url));

const DEFAULT_CFG: MachineConfig = {
  name: 'VI_1',
  vrid: 10,
  version: 3,
  priority: 100,
  advertIntervalMs: 1000,
  initialState: 'BACKUP',
  preempt: true,
  preemptDelayMs: 0,
  garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 5000, lowerPrioRepeat: 5, intervalMs: 0, gnaIntervalMs: 0 },
  lowerPrioNoAdvert: false,
};

type PartialCfg = Partial<Omit<MachineConfig, 'garp'>> & { garp?: Partial<MachineConfig['garp']> };

function cfgOf(base: MachineConfig, over: PartialCfg | undefined): MachineConfig {
  return { ...base, ...(over ?? {}), garp: { ...base.garp, ...(over?.garp ?? {}) } } as MachineConfig;
}

function round(v: unknown): unknown {
  if (typeof v === 'number') return Math.round(v * 1e6) / 1e6;
  if (Array.isArray(v)) return v.map(round);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));
  return v;
}

/** Armed timers of one instance, like a manual clock: deadline plus arming sequence for ties. */
class Timers {
  private readonly armed = new Map<string, { at: number; seq: number }>();
  private seq = 0;
  apply(key: string, effects: readonly MachineEffect[]): void {
    for (const e of effects) {
      if (e.kind === 'arm') this.armed.set(`${key}|${e.timer}`, { at: e.atMs, seq: this.seq++ });
      if (e.kind === 'cancel') this.armed.delete(`${key}|${e.timer}`);
    }
  }
  /** The earliest armed timer (ties: first armed). */
  next(): { key: string; timer: TimerName; at: number } | null {
    let best: { k: string; at: number; seq: number } | null = null;
    for (const [k, v] of this.armed) if (!best || v.at < best.at || (v.at === best.at && v.seq < best.seq)) best = { k, ...v };
    if (!best) return null;
    const [key, timer] = best.k.split('|') as [string, TimerName];
    return { key, timer, at: best.at };
  }
  take(key: string, timer: TimerName): void {
    this.armed.delete(`${key}|${timer}`);
  }
}

interface Step {
  at: number;
  instance?: string;
  timer?: TimerName;
  input?: Record<string, unknown>;
  ctx?: StepContext;
  effects: unknown[];
  state?: Record<string, unknown>;
  group?: Record<string, unknown>;
  note?: string;
}

function checkNoEarlierTimer(timers: Timers, st: Step, label: string): void {
  const n = timers.next();
  if (!n) return;
  const isThis = st.timer !== undefined && n.timer === st.timer && n.key === (st.instance ?? 'VI_1') && Math.abs(n.at - st.at) < 1e-6;
  if (isThis) return;
  assert.ok(n.at > st.at - 1e-9 && !(n.at < st.at), `${label}: timer ${n.key}/${n.timer} due at ${n.at} fires before this step at ${st.at}; list it in the scenario`);
  if (st.timer !== undefined) assert.fail(`${label}: timer ${st.instance ?? 'VI_1'}/${st.timer} is not the next one due (next: ${n.key}/${n.timer} at ${n.at})`);
}

function inputOf(st: Step, s: MachineState): MachineInput {
  if (st.timer) return { kind: 'timer', nowMs: st.at, timer: st.timer };
  const i = st.input!;
  if (i.kind === 'reconfigure') return { kind: 'reconfigure', nowMs: st.at, cfg: cfgOf(s.cfg, i.cfg as PartialCfg) };
  return { ...i, nowMs: st.at } as MachineInput;
}

function checkState(actual: object, want: Record<string, unknown> | undefined, label: string): void {
  if (!want) return;
  for (const [k, v] of Object.entries(want)) {
    assert.deepEqual(round((actual as Record<string, unknown>)[k]), round(v), `${label}: state.${k}`);
  }
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'keepalived-adverts.json').sort();
assert.ok(files.length > 0, 'no scenarios found');

for (const f of files) {
  const sc = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  if (f.startsWith('sync-')) {
    test(`${f}: ${sc.rule}`, () => runGroupScenario(sc, f));
    continue;
  }
  test(`${f}: ${sc.rule}`, () => {
    let s = initialMachineState(cfgOf(DEFAULT_CFG, sc.config), (sc.trackers ?? {}) as Record<string, TrackerStatus>, sc.localAddress ?? '198.18.0.1');
    const timers = new Timers();
    for (const [idx, st] of (sc.steps as Step[]).entries()) {
      const label = `${f} step ${idx + 1} (at ${st.at}${st.timer ? `, timer ${st.timer}` : `, ${String(st.input?.kind)}`})`;
      checkNoEarlierTimer(timers, st, label);
      if (st.timer) timers.take('VI_1', st.timer);
      const r = step(s, inputOf(st, s), st.ctx);
      assert.deepEqual(round(r.effects), round(st.effects), `${label}: effects`);
      timers.apply('VI_1', r.effects);
      s = r.state;
      checkState(s, st.state, label);
    }
  });
}

function runGroupScenario(sc: { group: string; instances: Record<string, PartialCfg & { localAddress?: string; trackers?: Record<string, TrackerStatus> }>; steps: Step[] }, f: string): void {
  const members: Record<string, MachineState> = {};
  for (const [name, c] of Object.entries(sc.instances)) {
    const { localAddress, trackers, ...cfg } = c;
    members[name] = initialMachineState(cfgOf({ ...DEFAULT_CFG, name }, cfg), trackers ?? {}, localAddress ?? '198.18.0.1');
  }
  let g: SyncGroupState = initialGroupState(sc.group, Object.keys(sc.instances));
  const timers = new Timers();
  const flat = (effs: readonly GroupEffect[]) => effs.map((e) => (e.instance === null ? { group: e.effect } : { instance: e.instance, ...e.effect }));
  for (const [idx, st] of sc.steps.entries()) {
    const label = `${f} step ${idx + 1} (at ${st.at})`;
    checkNoEarlierTimer(timers, st, label);
    let r;
    if (st.input?.kind === 'start') {
      r = startGroup(g, members, st.at);
    } else {
      const name = st.instance!;
      if (st.timer) timers.take(name, st.timer);
      r = stepGroup(g, members, name, inputOf(st, members[name]!));
    }
    assert.deepEqual(round(flat(r.effects)), round(st.effects), `${label}: effects`);
    for (const e of r.effects) if (e.instance) timers.apply(e.instance, [e.effect as MachineEffect]);
    g = r.group;
    Object.assign(members, r.members);
    if (st.state) for (const [name, want] of Object.entries(st.state)) checkState(members[name]!, want as Record<string, unknown>, `${label} ${name}`);
    checkState(g, st.group, `${label} group`);
  }
}
