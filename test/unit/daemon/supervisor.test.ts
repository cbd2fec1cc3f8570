import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingBus } from '../../../src/events/bus.js';
import { CommandRegistry } from '../../../src/control/registry.js';
import { Supervisor, type SupervisorLoadResult } from '../../../src/daemon/supervisor.js';
import type { Subsystem } from '../../../src/daemon/subsystem.js';
import type { Model } from '../../../src/model/types.js';
import type { ChangeSet, KeyedChanges } from '../../../src/model/changes.js';

const none: KeyedChanges = { added: [], removed: [], changed: [] };
function fakeModel(tag: string): Model {
  return {
    global: { routerId: tag } as Model['global'],
    vrrpScripts: {}, vrrpTrackFiles: {}, syncGroups: {}, instances: {}, virtualServerGroups: {},
    fwmarkRules: [], virtualServers: {}, coreVips: {},
  };
}
function fakeDiff(a: Model, b: Model): ChangeSet {
  return {
    global: a.global.routerId !== b.global.routerId,
    vrrpScripts: none, vrrpTrackFiles: none, syncGroups: none, instances: none, virtualServerGroups: none,
    virtualServers: none, realServers: {}, fwmarkRules: false, coreVips: none,
  };
}

function harness(results: SupervisorLoadResult[]) {
  const { bus, events } = recordingBus();
  const registry = new CommandRegistry();
  const calls: string[] = [];
  const sub = (name: string): Subsystem => ({
    name,
    start: async (m) => { calls.push(`${name}.start(${m.global.routerId})`); },
    apply: async (m) => { calls.push(`${name}.apply(${m.global.routerId})`); },
    stop: async (r) => { calls.push(`${name}.stop(${r})`); },
  });
  const notes: string[] = [];
  let i = 0;
  const sup = new Supervisor({
    configFile: '/etc/lvsd/test.conf',
    load: () => results[Math.min(i++, results.length - 1)]!,
    diff: fakeDiff,
    summarize: (c) => ({ global: { added: 0, removed: 0, changed: c.global ? 1 : 0 } }),
    bus, registry, subsystems: [sub('forward'), sub('checks'), sub('vrrp')],
    notify: (m) => notes.push(m), version: '0.0.0-test',
  });
  return { sup, events, calls, notes, registry };
}

const ok = (tag: string): SupervisorLoadResult => ({ ok: true, model: fakeModel(tag), warnings: [], files: [] });
const bad: SupervisorLoadResult = {
  ok: false, files: [],
  diagnostics: [{ code: 'ERR_CONFIG_UNKNOWN_KEYWORD', severity: 'error', pos: { file: 'x.conf', line: 3, col: 5 }, path: 'vrrp_instance.VI_1', message: 'unknown keyword "priorty" (did you mean "priority"?)' }],
};

test('starts in order, reloads by diff, keeps the running config on a bad file, stops in reverse', async () => {
  const h = harness([ok('a'), bad, ok('b'), ok('b')]);
  await h.sup.start();
  assert.deepEqual(h.calls, ['forward.start(a)', 'checks.start(a)', 'vrrp.start(a)']);
  assert.ok(h.notes.includes('READY=1\nSTATUS=running'));

  const r1 = await h.sup.reload('sighup');
  assert.equal(r1.applied, false);
  assert.deepEqual(!r1.applied && r1.errors, ['x.conf:3:5: vrrp_instance.VI_1: unknown keyword "priorty" (did you mean "priority"?)']);
  assert.equal(h.sup.current?.global.routerId, 'a', 'old model stays in force');
  const rejected = h.events.find((e) => e.type === 'config.rejected');
  assert.ok(rejected && rejected.type === 'config.rejected' && rejected.trigger === 'sighup');

  const r2 = await h.sup.reload('control');
  assert.ok(r2.applied && r2.changed);
  assert.equal(h.sup.current?.global.routerId, 'b');
  const r3 = await h.sup.reload('control');
  assert.ok(r3.applied && !r3.changed, 'an unchanged file applies nothing');
  assert.deepEqual(h.calls.slice(3), ['forward.apply(b)', 'checks.apply(b)', 'vrrp.apply(b)']);
  assert.ok(h.notes.some((n) => n.startsWith('RELOADING=1\nMONOTONIC_USEC=')));

  await h.sup.stop('SIGTERM');
  await h.sup.stop('SIGTERM');
  assert.deepEqual(h.calls.slice(6), ['vrrp.stop(SIGTERM)', 'checks.stop(SIGTERM)', 'forward.stop(SIGTERM)']);
  assert.deepEqual(h.events.filter((e) => e.type.startsWith('config.') || e.type.startsWith('daemon.')).map((e) => e.type),
    ['config.applied', 'config.rejected', 'config.applied', 'config.applied', 'daemon.stopping']);
});

test('control commands: reload answers ERR_CONFIG_INVALID on a bad file; status and config answer', async () => {
  const h = harness([ok('a'), bad]);
  await h.sup.start();
  await assert.rejects(async () => h.registry.get('reload')!.handler({}), (e: { code: string }) => e.code === 'ERR_CONFIG_INVALID');
  const st = (await h.registry.get('status')!.handler({})) as Record<string, unknown>;
  assert.equal(st.version, '0.0.0-test');
  assert.deepEqual(st.subsystems, ['forward', 'checks', 'vrrp']);
  assert.equal((st.lastReload as { outcome: string }).outcome, 'rejected');
  assert.equal(((await h.registry.get('config')!.handler({})) as Model).global.routerId, 'a');
});

test('a bad first config refuses to start and starts nothing', async () => {
  const h = harness([bad]);
  await assert.rejects(h.sup.start(), (e: { code: string }) => e.code === 'ERR_CONFIG_INVALID');
  assert.deepEqual(h.calls, []);
});
