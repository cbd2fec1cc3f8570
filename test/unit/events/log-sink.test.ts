import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { EventBus } from '../../../src/events/bus.js';
import { attachLogSink, createLogger, fieldsOf } from '../../../src/events/log-sink.js';

function sink() {
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        text.push(l);
        try { lines.push(JSON.parse(l)); } catch { /* pretty */ }
      }
      cb();
    },
  });
  return { stream, lines, text };
}

test('events become JSON lines with stable snake_case fields and levels', () => {
  const s = sink();
  const bus = new EventBus();
  attachLogSink(bus, createLogger({ format: 'json', level: 'info', destination: s.stream }));
  bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: null });
  bus.emit({ type: 'real.down', service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', checker: 'http#0', reason: 'status', detail: 'status 503', latencyMs: 3.2 });
  bus.emit({ type: 'check.result', service: 's', real: 'r', checker: 'c', ok: true, reason: 'ok', detail: '', latencyMs: 1 });
  bus.emit({ type: 'config.rejected', configFile: '/etc/lvsd.conf', trigger: 'sighup', errors: ['a.conf:3:5: x: bad'] });
  assert.equal(s.lines.length, 3, 'debug-level check.result is not logged at info');
  const [t, d, r] = s.lines as Array<Record<string, unknown>>;
  assert.equal(t!.event, 'vrrp.transition');
  assert.equal(t!.level, 30);
  assert.equal(t!.master_address, null);
  assert.equal(t!.msg, 'VI_1: BACKUP -> MASTER (master_down_timer, priority 100)');
  assert.equal(d!.level, 40);
  assert.equal(d!.latency_ms, 3.2);
  assert.equal(d!.reason, 'status');
  assert.equal(r!.level, 50);
  assert.deepEqual(r!.errors, ['a.conf:3:5: x: bad']);
  assert.ok(typeof t!.time === 'string');
});

test('pretty format is for people', () => {
  const s = sink();
  const bus = new EventBus();
  attachLogSink(bus, createLogger({ format: 'pretty', level: 'info', destination: s.stream }));
  bus.emit({ type: 'real.up', service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', checker: 'tcp#0', reason: 'ok', detail: '', latencyMs: 1 });
  assert.match(s.text.join('\n'), /INFO.*real 198\.18\.1\.1:80 UP/);
});

test('a service that starts below quorum is a state (info), a later loss is a warning', () => {
  const s = sink();
  const bus = new EventBus();
  attachLogSink(bus, createLogger({ format: 'json', level: 'info', destination: s.stream }));
  const base = { type: 'service.quorum' as const, service: 'tcp:198.18.0.10:80', up: false, aliveWeight: 0, quorum: 1, hysteresis: 0, sorryServer: null };
  bus.emit({ ...base, initial: true, real: null, checker: null, reason: 'startup' });
  bus.emit({ ...base, real: '198.18.1.1:80', checker: 'tcp:198.18.1.1:80#0', reason: 'refused' });
  assert.equal(s.lines[0]!.level, 30);
  assert.match(String(s.lines[0]!.msg), /not reached yet/);
  assert.equal(s.lines[0]!.initial, true);
  assert.equal(s.lines[1]!.level, 40);
  assert.match(String(s.lines[1]!.msg), /quorum lost/);
});

test('real.weight and service.quorum say what caused them, in stable snake_case fields', () => {
  const s = sink();
  const bus = new EventBus();
  attachLogSink(bus, createLogger({ format: 'json', level: 'info', destination: s.stream }));
  bus.emit({
    type: 'real.weight', service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', from: 3, to: 10, reason: 'misc_dynamic',
    checker: 'misc:198.18.1.1:80#0', detail: 'exit 12', latencyMs: 4.5, exitCode: 12,
  });
  bus.emit({
    type: 'service.quorum', service: 'tcp:198.18.0.10:80', up: true, aliveWeight: 10, quorum: 5, hysteresis: 0, sorryServer: null,
    real: '198.18.1.1:80', checker: 'misc:198.18.1.1:80#0', reason: 'misc_dynamic',
  });
  bus.emit({
    type: 'service.quorum', service: 'tcp:198.18.0.10:80', up: false, aliveWeight: 0, quorum: 5, hysteresis: 0, sorryServer: '198.18.0.99:8080',
    real: null, checker: null, reason: 'config',
  });
  const [w, q, r] = s.lines as Array<Record<string, unknown>>;
  const pick = (l: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, l[k]]));
  assert.deepEqual(pick(w!, ['event', 'level', 'service', 'real', 'from', 'to', 'reason', 'checker', 'detail', 'latency_ms', 'exit_code']), {
    event: 'real.weight', level: 30, service: 'tcp:198.18.0.10:80', real: '198.18.1.1:80', from: 3, to: 10, reason: 'misc_dynamic',
    checker: 'misc:198.18.1.1:80#0', detail: 'exit 12', latency_ms: 4.5, exit_code: 12,
  });
  assert.equal(w!.msg, 'tcp:198.18.0.10:80 real 198.18.1.1:80 weight 3 -> 10 (misc_dynamic: misc:198.18.1.1:80#0 exit 12)');
  assert.deepEqual(pick(q!, ['event', 'level', 'up', 'alive_weight', 'sorry_server', 'real', 'checker', 'reason']), {
    event: 'service.quorum', level: 30, up: true, alive_weight: 10, sorry_server: null, real: '198.18.1.1:80', checker: 'misc:198.18.1.1:80#0', reason: 'misc_dynamic',
  });
  assert.equal(q!.msg, 'tcp:198.18.0.10:80 quorum gained (alive weight 10, quorum 5; real 198.18.1.1:80 misc:198.18.1.1:80#0: misc_dynamic)');
  assert.deepEqual(pick(r!, ['level', 'up', 'sorry_server', 'real', 'checker', 'reason']), {
    level: 40, up: false, sorry_server: '198.18.0.99:8080', real: null, checker: null, reason: 'config',
  });
  assert.equal(r!.msg, 'tcp:198.18.0.10:80 quorum lost (alive weight 0, quorum 5; config)');
});

test('daemon and config lines, field by field: snake_case at every depth', () => {
  const s = sink();
  const bus = new EventBus();
  attachLogSink(bus, createLogger({ format: 'json', level: 'info', destination: s.stream }));
  bus.emit({ type: 'daemon.started', version: '1.2.3', pid: process.pid, configFile: '/etc/lvsd/lvsd.conf' });
  bus.emit({
    type: 'config.applied', configFile: '/etc/lvsd/lvsd.conf', trigger: 'sighup',
    summary: {
      global: { added: 0, removed: 0, changed: 1 }, vrrpScripts: { added: 1, removed: 0, changed: 0 },
      realServers: { added: 2, removed: 1, changed: 0 }, virtualServerGroups: { added: 0, removed: 0, changed: 0 },
    },
    warnings: ['a.conf:3:5: warning: x: repeated'],
  });
  bus.emit({ type: 'config.rejected', configFile: '/etc/lvsd/lvsd.conf', trigger: 'control', errors: ['a.conf:9:1: y: bad [ERR_CONFIG_VALUE]'] });
  bus.emit({ type: 'daemon.stopping', reason: 'SIGTERM' });
  const lines = s.lines.map(({ time, ...rest }) => {
    assert.match(String(time), /^\d{4}-\d\d-\d\dT/);
    return rest;
  });
  assert.deepEqual(lines, [
    { level: 30, pid: process.pid, event: 'daemon.started', version: '1.2.3', config_file: '/etc/lvsd/lvsd.conf', msg: `lvsd 1.2.3 started (pid ${process.pid})` },
    {
      level: 30, pid: process.pid, event: 'config.applied', config_file: '/etc/lvsd/lvsd.conf', trigger: 'sighup',
      summary: {
        global: { added: 0, removed: 0, changed: 1 }, vrrp_scripts: { added: 1, removed: 0, changed: 0 },
        real_servers: { added: 2, removed: 1, changed: 0 }, virtual_server_groups: { added: 0, removed: 0, changed: 0 },
      },
      warnings: ['a.conf:3:5: warning: x: repeated'],
      msg: 'config applied (sighup)',
    },
    {
      level: 50, pid: process.pid, event: 'config.rejected', config_file: '/etc/lvsd/lvsd.conf', trigger: 'control',
      errors: ['a.conf:9:1: y: bad [ERR_CONFIG_VALUE]'], msg: 'config rejected (control), running config kept: 1 error(s)',
    },
    { level: 30, pid: process.pid, event: 'daemon.stopping', reason: 'SIGTERM', msg: 'lvsd stopping: SIGTERM' },
  ]);
});

test('nested keys that are data (names, addresses) are kept as written', () => {
  const f = fieldsOf({ type: 'log', level: 'info', msg: 'm', fields: { perInstance: { VI_1: { lastState: 'MASTER' }, 'tcp:198.18.0.10:80': [{ aliveWeight: 1 }] } } });
  assert.deepEqual(f, { event: 'log', per_instance: { VI_1: { last_state: 'MASTER' }, 'tcp:198.18.0.10:80': [{ alive_weight: 1 }] } });
});
