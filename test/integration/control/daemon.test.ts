/**
 * The daemon as a whole, in process: the real composition root (runDaemon), Supervisor,
 * config loader, ControlServer and lvsadm, a real config file in a temporary directory, the
 * real sd_notify to a datagram socket standing in for systemd's NOTIFY_SOCKET; only the
 * network subsystems are replaced by a recording one. Reload by lvsadm (good, bad, one a
 * subsystem cannot apply) and by SIGHUP, start failures and their exit codes, READY/
 * RELOADING/STOPPING/WATCHDOG, signals before and during the start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { runDaemon, restartNeeded, lvsdVersion, type DaemonDeps, type SignalSource } from '../../../src/daemon/main.js';
import type { Subsystem } from '../../../src/daemon/subsystem.js';
import type { Model } from '../../../src/model/types.js';
import { lvsadmMain } from '../../../src/cli/lvsadm.js';
import { loadConfigText } from '../../../src/config/load.js';

let dir = '';
let notifyPath = '';
let listener: ChildProcess | null = null;
const datagrams: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lvt-daemon-'));
  notifyPath = join(dir, 'notify.sock');
  // Node has no AF_UNIX datagram sockets: a tiny Python receiver plays systemd.
  listener = spawn('python3', ['-c', `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('ready', flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)`, notifyPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => { ready = r; });
  listener.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') ready();
      else datagrams.push(JSON.parse(line) as string);
    }
  });
  await Promise.race([isReady, new Promise((_, rej) => setTimeout(() => rej(new Error('no python notify listener')), 10_000))]);
  process.env['NOTIFY_SOCKET'] = notifyPath;
});

after(() => {
  delete process.env['NOTIFY_SOCKET'];
  listener?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, f: () => T | undefined | null | false, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until no datagram has come for 200 ms (the listener relays them with a delay), then forgets them. */
async function quiet(): Promise<void> {
  for (let n = -1, i = 0; n !== datagrams.length && i < 50; i++) {
    n = datagrams.length;
    await new Promise((r) => setTimeout(r, 200));
  }
  datagrams.length = 0;
}

const CONF = (routerId: string, reals: string[], extra = '') => `global_defs {
    router_id ${routerId}
    lvs_interface eth0
${extra}}
virtual_server 198.18.0.10 80 {
    protocol TCP
    lvs_sched rr
${reals.map((r) => `    real_server ${r} 80 {\n    }\n`).join('')}}
`;

/** A subsystem that records what it is asked, and can fail or wait on request. */
class Recorder implements Subsystem {
  readonly name = 'rec';
  readonly calls: string[] = [];
  failApply: ((m: Model) => boolean) | null = null;
  startGate: Promise<void> | null = null;
  controlSeenAtStart: boolean | null = null;
  private readonly controlPath: string;
  constructor(controlPath: string) {
    this.controlPath = controlPath;
  }
  async start(m: Model): Promise<void> {
    this.controlSeenAtStart = existsSync(this.controlPath);
    this.calls.push(`start(${m.global.routerId})`);
    if (this.startGate) await this.startGate;
  }
  async apply(m: Model): Promise<void> {
    this.calls.push(`apply(${m.global.routerId},${Object.keys(m.virtualServers['tcp:198.18.0.10:80']?.realServers ?? {}).length})`);
    if (this.failApply?.(m)) throw new Error(`cannot take ${m.global.routerId}`);
  }
  async stop(reason: string): Promise<void> {
    this.calls.push(`stop(${reason})`);
  }
}

interface Run {
  file: string;
  control: string;
  rec: Recorder;
  logs: Array<Record<string, unknown>>;
  signals: EventEmitter;
  exit: Promise<number>;
  lvsadm(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  event(type: string, from?: number): Promise<Record<string, unknown>>;
}

function start(name: string, conf: string, opts: { signals?: SignalSource; env?: NodeJS.ProcessEnv; gate?: Promise<void>; control?: string } = {}): Run {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const control = opts.control ?? join(dir, `${name}.sock`);
  const rec = new Recorder(control);
  if (opts.gate) rec.startGate = opts.gate;
  const logs: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const signals = new EventEmitter();
  const deps: DaemonDeps = {
    buildSubsystems: async () => ({ subsystems: [rec], registerMetrics: () => () => {}, close: async () => {} }),
    signals: opts.signals ?? (signals as unknown as SignalSource),
    rtPriority: 0,
    logDestination: dest,
    env: opts.env ?? {},
  };
  const exit = runDaemon({ configFile: file, controlPath: control, logFormat: 'json', logLevel: 'info', pidFile: null }, deps);
  return {
    file, control, rec, logs, signals, exit,
    async lvsadm(...argv) {
      let out = '';
      let err = '';
      const code = await lvsadmMain(['--control', control, ...argv], (s) => { out += s + '\n'; }, (s) => { err += s + '\n'; });
      return { code, out, err };
    },
    event: (type, from = 0) => until(type, () => logs.slice(from).find((l) => l.event === type)),
  };
}

test('lvsadm reload against a running daemon: a good file applies, a bad one is rejected with file:line:col and the old model stays; SIGHUP; READY/RELOADING/STOPPING', async () => {
  await quiet();
  const r = start('main', CONF('lvs-a', ['198.18.1.1']));
  await until('READY=1', () => datagrams.includes('READY=1\nSTATUS=running'));
  assert.deepEqual(r.rec.calls, ['start(lvs-a)']);
  assert.equal(r.rec.controlSeenAtStart, true, 'the control socket listens before the subsystems start');
  assert.deepEqual(datagrams, ['READY=1\nSTATUS=running'], 'nothing before READY, READY once');

  // lvsadm status, as people read it
  const st = await r.lvsadm('status');
  assert.equal(st.code, 0, st.err);
  const lines = st.out.trimEnd().split('\n');
  assert.match(lines[0]!, new RegExp(`^lvsd ${lvsdVersion().replace(/\./g, '\\.')}, pid ${process.pid}, up \\d+s$`));
  assert.equal(lines[1], `config:      ${r.file}`);
  assert.match(lines[2]!, /^last reload: applied at \d{4}-\d\d-\d\dT[\d:.]+Z \(startup\)$/);
  assert.equal(lines[3], 'subsystems:  checker-fifo, rec');
  assert.equal(lines[4], 'objects:     0 VRRP instance(s), 0 sync group(s), 1 virtual server(s), 1 real server(s)');
  assert.equal(lines.length, 5);

  // A good reload applies: config.applied with the summary, RELOADING=1 then READY=1.
  writeFileSync(r.file, CONF('lvs-a', ['198.18.1.1', '198.18.1.2']));
  let mark = r.logs.length;
  await quiet();
  const good = await r.lvsadm('reload');
  assert.equal(good.code, 0, good.err);
  assert.equal(good.out, 'config applied (realServers: +1 -0 ~0)\n');
  const applied = await r.event('config.applied', mark);
  assert.equal(applied.trigger, 'control');
  assert.deepEqual((applied.summary as Record<string, unknown>).real_servers, { added: 1, removed: 0, changed: 0 });
  assert.deepEqual(r.rec.calls.slice(1), ['apply(lvs-a,2)']);
  await until('READY=1 after the reload', () => datagrams.length >= 2);
  assert.equal(datagrams.length, 2);
  assert.match(datagrams[0]!, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  assert.equal(datagrams[1], 'READY=1\nSTATUS=running');

  // A bad file: rejected with every error at its file:line:col; the running config stays.
  writeFileSync(r.file, CONF('lvs-b', ['198.18.1.1'], '    prority 5\n'));
  mark = r.logs.length;
  const bad = await r.lvsadm('reload');
  assert.equal(bad.code, 1);
  assert.equal(bad.out, '');
  assert.equal(bad.err, `lvsadm: reload: ERR_CONFIG_INVALID: config rejected, running config kept:\n${r.file}:4:5: global_defs.prority: unknown keyword \`prority\` in \`global_defs\` [ERR_CONFIG_UNKNOWN_KEYWORD]\n`);
  const rejected = await r.event('config.rejected', mark);
  assert.deepEqual(rejected.errors, [`${r.file}:4:5: global_defs.prority: unknown keyword \`prority\` in \`global_defs\` [ERR_CONFIG_UNKNOWN_KEYWORD]`]);
  assert.equal(rejected.trigger, 'control');
  // --json: the error is JSON too
  const badJson = await r.lvsadm('--json', 'reload');
  assert.equal(badJson.code, 1);
  assert.equal(badJson.err, '');
  const parsed = JSON.parse(badJson.out) as { error: { code: string; message: string } };
  assert.equal(parsed.error.code, 'ERR_CONFIG_INVALID');
  assert.match(parsed.error.message, new RegExp(`${r.file.replace(/[.]/g, '\\.')}:4:5: global_defs\\.prority`));
  assert.deepEqual(r.rec.calls.slice(1), ['apply(lvs-a,2)'], 'a rejected file is applied to nothing');

  const st2 = await r.lvsadm('status');
  assert.match(st2.out, /\nlast reload: rejected at \S+ \(control\)\n/);
  assert.match(st2.out, /1 virtual server\(s\), 2 real server\(s\)/);
  const cfg = await r.lvsadm('--json', 'config');
  const model = JSON.parse(cfg.out) as Model;
  assert.equal(model.global.routerId, 'lvs-a', 'the old model stays in force');
  assert.deepEqual(Object.keys(model.virtualServers['tcp:198.18.0.10:80']!.realServers), ['198.18.1.1:80', '198.18.1.2:80']);
  const human = await r.lvsadm('config');
  assert.equal(human.code, 0);
  const h = human.out.split('\n');
  assert.equal(h[0], `config file: ${r.file}`);
  assert.match(h[1]!, /^last reload: rejected at \S+ \(control\)$/);
  assert.equal(h[2], 'router_id:   lvs-a');
  assert.ok(h.includes('services:    1 virtual server(s), 2 real server(s)'), human.out);
  assert.ok(h.includes('  tcp:198.18.0.10:80  rr NAT quorum 1  held by lvs_interface'), human.out);
  assert.ok(h.includes('    -> 198.18.1.2:80 w1'), human.out);

  // SIGHUP reloads the fixed file.
  writeFileSync(r.file, CONF('lvs-c', ['198.18.1.1']));
  mark = r.logs.length;
  r.signals.emit('SIGHUP');
  const hup = await r.event('config.applied', mark);
  assert.equal(hup.trigger, 'sighup');
  assert.deepEqual(r.rec.calls.slice(2), ['apply(lvs-c,1)']);

  // SIGTERM: STOPPING=1, subsystems stopped, the socket removed, exit 0.
  datagrams.length = 0;
  r.signals.emit('SIGTERM');
  assert.equal(await r.exit, 0);
  assert.deepEqual(r.rec.calls.slice(3), ['stop(SIGTERM)']);
  await until('STOPPING=1', () => datagrams.includes('STOPPING=1'));
  assert.equal(existsSync(r.control), false);
  assert.deepEqual(r.logs.filter((l) => String(l.event).startsWith('daemon.')).map((l) => l.event), ['daemon.started', 'daemon.stopping', 'daemon.stopped']);
  assert.equal(r.logs.find((l) => l.event === 'daemon.stopping')!.reason, 'SIGTERM');
});

test('a reload a subsystem cannot apply: ERR_CONFIG_APPLY, config.apply_failed with snake_case fields, the old model stays', async () => {
  const r = start('applyfail', CONF('lvs-a', ['198.18.1.1']));
  await r.event('config.applied');
  r.rec.failApply = (m) => m.global.routerId === 'lvs-b';
  writeFileSync(r.file, CONF('lvs-b', ['198.18.1.1', '198.18.1.2']));
  const out = await r.lvsadm('reload');
  assert.equal(out.code, 1);
  assert.equal(out.err, 'lvsadm: reload: ERR_CONFIG_APPLY: config could not be applied, running config restored:\nsubsystem rec failed to apply the new config: cannot take lvs-b\n');
  const failed = await r.event('config.apply_failed');
  const { time: _t, pid: _p, ...fields } = failed;
  assert.deepEqual(fields, {
    level: 50, event: 'config.apply_failed', config_file: r.file, trigger: 'control', subsystem: 'rec', error: 'cannot take lvs-b',
    rolled_back: ['rec', 'checker-fifo'], rollback_errors: [], msg: 'config not applied (control): subsystem rec failed (cannot take lvs-b); running config restored',
  });
  assert.deepEqual(r.rec.calls, ['start(lvs-a)', 'apply(lvs-b,2)', 'apply(lvs-a,1)']);
  assert.equal((JSON.parse((await r.lvsadm('--json', 'config')).out) as Model).global.routerId, 'lvs-a');
  assert.match((await r.lvsadm('status')).out, /last reload: failed at \S+ \(control\)/);
  r.signals.emit('SIGTERM');
  assert.equal(await r.exit, 0);
});

test('start failures: no usable config exits 7 (KEEPALIVED_EXIT_NO_CONFIG), a control socket that cannot listen exits 3; neither says READY or starts a subsystem', async () => {
  await quiet();
  const badConf = start('badstart', CONF('x', ['198.18.1.1'], '    prority 5\n'));
  assert.equal(await badConf.exit, 7);
  assert.deepEqual(badConf.rec.calls, []);
  assert.deepEqual(badConf.logs.find((l) => l.event === 'config.rejected')!.errors, [`${badConf.file}:4:5: global_defs.prority: unknown keyword \`prority\` in \`global_defs\` [ERR_CONFIG_UNKNOWN_KEYWORD]`]);

  const missing = start('missing', '');
  rmSync(missing.file);
  assert.equal(await missing.exit, 7);

  writeFileSync(join(dir, 'not-a-dir'), '');
  const noSock = start('nosock', CONF('x', ['198.18.1.1']), { control: join(dir, 'not-a-dir', 'lvsd.sock') });
  assert.equal(await noSock.exit, 3);
  assert.deepEqual(noSock.rec.calls, [], 'nothing was started: nothing claimed on the network');
  const fatal = noSock.logs.find((l) => l.level === 60)!;
  assert.equal(fatal.code, 'ERR_CONTROL_LISTEN');
  assert.match(String(fatal.msg), /^lvsd could not start: cannot create .*not-a-dir: EEXIST: file already exists/);
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(datagrams.filter((d) => d.startsWith('READY=1')).length, 0);
});

test('signals are handled from the start: a real SIGHUP during the start is a reload queued behind it, a SIGTERM during the start stops cleanly', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((res) => { release = res; });
  const r = start('hup', CONF('lvs-a', ['198.18.1.1']), { signals: process, gate });
  await until('the start to reach the subsystem', () => r.rec.calls.length === 1);
  writeFileSync(r.file, CONF('lvs-b', ['198.18.1.1']));
  // Node's default for SIGHUP terminates the process: this test only lives on if lvsd handles it.
  process.kill(process.pid, 'SIGHUP');
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(r.rec.calls, ['start(lvs-a)'], 'the reload waits for the start');
  release();
  const applied = await until('two config.applied', () => {
    const a = r.logs.filter((l) => l.event === 'config.applied');
    return a.length === 2 ? a : null;
  });
  assert.deepEqual(applied.map((a) => a.trigger), ['startup', 'sighup']);
  assert.deepEqual(r.rec.calls, ['start(lvs-a)', 'apply(lvs-b,1)']);
  process.kill(process.pid, 'SIGTERM');
  assert.equal(await r.exit, 0);
  assert.equal(process.listenerCount('SIGHUP'), 0, 'handlers removed at exit');

  await quiet();
  let release2: () => void = () => {};
  const gate2 = new Promise<void>((res) => { release2 = res; });
  const r2 = start('term', CONF('lvs-a', ['198.18.1.1']), { gate: gate2 });
  await until('the start to reach the subsystem', () => r2.rec.calls.length === 1);
  r2.signals.emit('SIGTERM');
  release2();
  assert.equal(await r2.exit, 0);
  assert.deepEqual(r2.rec.calls, ['start(lvs-a)', 'stop(SIGTERM)']);
  await until('STOPPING=1', () => datagrams.includes('STOPPING=1'));
  assert.equal(datagrams.includes('READY=1\nSTATUS=running'), false, 'never READY after STOPPING');
});

test('WATCHDOG=1 every WATCHDOG_USEC/2 when WATCHDOG_PID is ours (or unset), never for another PID', async () => {
  await quiet();
  const r = start('wd', CONF('lvs-a', ['198.18.1.1']), { env: { WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) } });
  await r.event('config.applied');
  await until('3 watchdog pings', () => datagrams.filter((d) => d === 'WATCHDOG=1').length >= 3, 3000);
  r.signals.emit('SIGTERM');
  assert.equal(await r.exit, 0);

  await quiet();
  const other = start('wd2', CONF('lvs-a', ['198.18.1.1']), { env: { WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid + 100000) } });
  await other.event('config.applied');
  await new Promise((res) => setTimeout(res, 400));
  other.signals.emit('SIGTERM');
  assert.equal(await other.exit, 0);
  assert.equal(datagrams.filter((d) => d === 'WATCHDOG=1').length, 0);
});

test('a reload that moves the control socket or the metrics endpoint says it needs a restart', () => {
  const m = (extra: string) => {
    const x = loadConfigText(CONF('a', ['198.18.1.1'], extra), 'r.conf', 'keepalived', { hostname: 'h', configId: 'h' });
    assert.ok(x.ok);
    return x.model;
  };
  const a = m('    control_socket /run/lvsd/a.sock\n    metrics_listen 198.18.0.2:9100\n');
  const b = m('    control_socket /run/lvsd/b.sock\n');
  assert.deepEqual(restartNeeded(a, b, null), [
    'control_socket changed to /run/lvsd/b.sock: the daemon keeps listening on /run/lvsd/a.sock until it is restarted [WARN_RESTART_NEEDED]',
    'metrics_listen changed to off: the metrics endpoint stays 198.18.0.2:9100 until the daemon is restarted [WARN_RESTART_NEEDED]',
  ]);
  assert.deepEqual(restartNeeded(a, b, '/run/x.sock'), [
    'metrics_listen changed to off: the metrics endpoint stays 198.18.0.2:9100 until the daemon is restarted [WARN_RESTART_NEEDED]',
  ], '--control fixes the socket: the config setting does not matter');
  assert.deepEqual(restartNeeded(a, a, null), []);
});
