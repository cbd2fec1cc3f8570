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

function harness(results: SupervisorLoadResult[], failing: Record<string, { apply?: (m: Model) => boolean; start?: () => Promise<void> }> = {}) {
  const { bus, events } = recordingBus();
  const registry = new CommandRegistry();
  const calls: string[] = [];
  const sub = (name: string): Subsystem => ({
    name,
    start: async (m) => {
      calls.push(`${name}.start(${m.global.routerId})`);
      await failing[name]?.start?.();
    },
    apply: async (m) => {
      calls.push(`${name}.apply(${m.global.routerId})`);
      if (failing[name]?.apply?.(m)) throw new Error(`${name} cannot take ${m.global.routerId}`);
    },
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
  assert.deepEqual(!r1.applied && r1.errors, ['x.conf:3:5: vrrp_instance.VI_1: unknown keyword "priorty" (did you mean "priority"?) [ERR_CONFIG_UNKNOWN_KEYWORD]']);
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

test('a subsystem that fails to apply rolls back the ones already applied (and itself): old model kept, config.apply_failed, never config.applied', async () => {
  const h = harness([ok('a'), ok('b'), ok('c')], { checks: { apply: (m) => m.global.routerId === 'b' } });
  await h.sup.start();
  h.calls.length = 0;
  h.notes.length = 0;
  const r = await h.sup.reload('sighup');
  assert.equal(r.applied, false);
  assert.equal(!r.applied && r.code, 'ERR_CONFIG_APPLY');
  assert.deepEqual(!r.applied && r.errors, ['subsystem checks failed to apply the new config: checks cannot take b']);
  // forward moved to b, checks failed on b: both moved back to a, last applied first; vrrp never saw b.
  assert.deepEqual(h.calls, ['forward.apply(b)', 'checks.apply(b)', 'checks.apply(a)', 'forward.apply(a)']);
  assert.equal(h.sup.current?.global.routerId, 'a', 'the old model stays in force');
  const failed = h.events.filter((e) => e.type === 'config.apply_failed');
  assert.deepEqual(failed, [{
    type: 'config.apply_failed', configFile: '/etc/lvsd/test.conf', trigger: 'sighup',
    subsystem: 'checks', error: 'checks cannot take b', rolledBack: ['checks', 'forward'], rollbackErrors: [],
  }]);
  assert.equal(h.events.filter((e) => e.type === 'config.applied').length, 1, 'only the start was applied');
  assert.deepEqual(h.notes, [h.notes[0], 'READY=1\nSTATUS=running']);
  assert.match(h.notes[0]!, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  const st = h.sup.status() as { lastReload: { outcome: string } };
  assert.equal(st.lastReload.outcome, 'failed');

  // The next good file applies from the old model.
  h.calls.length = 0;
  const r2 = await h.sup.reload('control');
  assert.ok(r2.applied);
  assert.deepEqual(h.calls, ['forward.apply(c)', 'checks.apply(c)', 'vrrp.apply(c)']);
  assert.equal(h.sup.current?.global.routerId, 'c');
});

test('a rollback that fails is reported with the apply error; the control command answers ERR_CONFIG_APPLY', async () => {
  const h = harness([ok('a'), ok('b')], { vrrp: { apply: (m) => m.global.routerId === 'b' }, forward: { apply: (m) => m.global.routerId === 'a' } });
  await h.sup.start();
  await assert.rejects(async () => h.registry.get('reload')!.handler({}), (e: { code: string; message: string }) =>
    e.code === 'ERR_CONFIG_APPLY' && /vrrp failed to apply/.test(e.message) && /forward could not be moved back/.test(e.message));
  const failed = h.events.find((e) => e.type === 'config.apply_failed');
  assert.ok(failed && failed.type === 'config.apply_failed');
  assert.deepEqual(failed.rolledBack, ['vrrp', 'checks']);
  assert.deepEqual(failed.rollbackErrors, ['subsystem forward could not be moved back to the running config: forward cannot take a']);
  assert.equal(h.sup.current?.global.routerId, 'a');
});

test('READY=1 comes after the before-subsystems step (the control socket) and every start; a failing step starts nothing and sends no READY', async () => {
  const h = harness([ok('a')]);
  const order: string[] = [];
  await h.sup.start({ beforeSubsystems: async (m) => { order.push(`listen(${m.global.routerId}) with ${h.calls.length} started`); } });
  assert.deepEqual(order, ['listen(a) with 0 started']);
  assert.deepEqual(h.notes, ['READY=1\nSTATUS=running']);

  const h2 = harness([ok('a')]);
  await assert.rejects(h2.sup.start({ beforeSubsystems: async () => { throw Object.assign(new Error('cannot listen'), { code: 'ERR_CONTROL_LISTEN' }); } }),
    (e: { code: string }) => e.code === 'ERR_CONTROL_LISTEN');
  assert.deepEqual(h2.calls, []);
  assert.deepEqual(h2.notes, []);
  assert.equal(h2.events.filter((e) => e.type === 'config.applied').length, 0);
});

test('a reload asked for during the start waits for it; a stop during the start stops what started and never says READY after STOPPING', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => { release = r; });
  const h = harness([ok('a'), ok('b')], { checks: { start: () => gate } });
  const starting = h.sup.start();
  const reloading = h.sup.reload('sighup');
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.calls, ['forward.start(a)', 'checks.start(a)']);
  release();
  await starting;
  const r = await reloading;
  assert.ok(r.applied && r.changed);
  assert.deepEqual(h.calls.slice(2), ['vrrp.start(a)', 'forward.apply(b)', 'checks.apply(b)', 'vrrp.apply(b)']);

  let release2: () => void = () => {};
  const gate2 = new Promise<void>((r) => { release2 = r; });
  const h2 = harness([ok('a')], { checks: { start: () => gate2 } });
  const starting2 = h2.sup.start();
  await new Promise((r) => setTimeout(r, 10));
  const stopping = h2.sup.stop('SIGTERM');
  release2();
  await starting2;
  await stopping;
  assert.deepEqual(h2.calls, ['forward.start(a)', 'checks.start(a)', 'checks.stop(SIGTERM)', 'forward.stop(SIGTERM)']);
  assert.deepEqual(h2.notes, ['STOPPING=1']);
});

test('settings a reload cannot move are warnings of the applied reload', async () => {
  const { bus, events } = recordingBus();
  let i = 0;
  const sup = new Supervisor({
    configFile: 'f', load: () => [ok('a'), ok('b')][Math.min(i++, 1)]!, diff: fakeDiff,
    summarize: () => ({}), bus, registry: new CommandRegistry(), subsystems: [], notify: () => {}, version: 'v',
    restartNeeded: (p, n) => (p.global.routerId !== n.global.routerId ? ['control_socket changed: restart'] : []),
  });
  await sup.start();
  const r = await sup.reload('sighup');
  assert.ok(r.applied);
  assert.deepEqual(r.warnings, ['control_socket changed: restart']);
  const applied = events.filter((e) => e.type === 'config.applied');
  assert.deepEqual(applied.at(-1)!.type === 'config.applied' && applied.at(-1)!.warnings, ['control_socket changed: restart']);
});
