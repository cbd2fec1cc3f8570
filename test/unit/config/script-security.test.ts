/**
 * Script security (keepalived lib/notify.c check_script_secure / check_security) against real
 * files in a temporary directory: modes and ownership set with chmod/chown (the tests run as
 * root, as CI does), symlinks, PATH search, users; what is refused, disabled, warned about;
 * what the model keeps; the exit code of `lvsd --test`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_CODES, exitCodeFor, loadConfigFile, type LoadResult } from '../../../src/config/load.js';
import { formatConfigDiagnostic } from '../../../src/config/diagnostics.js';
import { realScriptHost, type ScriptHost } from '../../../src/config/script-host.js';
import { checkCommand, isExecutable, pathProblem } from '../../../src/config/script-security.js';
import { lvsdMain } from '../../../src/cli/lvsd.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'chown needs root (CI runs the tests as root)';

/** A temporary directory (root-owned 0755, inside the root-owned sticky /tmp) removed afterwards. */
function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'lvt-sec-')));
    chmodSync(dir, 0o755);
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function script(path: string, mode = 0o755, uid = 0, gid = 0): string {
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chownSync(path, uid, gid); // before chmod: chown clears setuid/setgid
  chmodSync(path, mode);
  return path;
}

/** The real machine, with the users a test wants (keepalived_script and friends). */
function hostWith(users: Record<string, { uid: number; gid: number }>): ScriptHost {
  const real = realScriptHost();
  return { ...real, user: (n) => users[n] ?? (n === 'root' ? { uid: 0, gid: 0 } : null), group: (n) => (n === 'root' ? 0 : users[n]?.gid ?? null) };
}

function conf(dir: string, body: string, global = ''): string {
  const f = join(dir, 'lvsd.conf');
  writeFileSync(f, `global_defs {\n  router_id t\n${global}}\n${body}`);
  return f;
}

const INSTANCE = (track: string, notify = '') => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    198.18.0.10/24
  }
  track_script {
    ${track}
  }
${notify}}
`;

const lines = (r: LoadResult) => (r.ok ? r.warnings : r.diagnostics).map(formatConfigDiagnostic);
const codes = (r: LoadResult) => (r.ok ? r.warnings : r.diagnostics).map((d) => d.code);

test('a root-owned 0755 script in root-owned directories is secure; scripts without enable_script_security are the SECURITY VIOLATION (exit 6)', { skip }, withDir((dir) => {
  const chk = script(join(dir, 'chk.sh'));
  const f = conf(dir, `vrrp_script chk {\n  script "${chk} --fast"\n}\n${INSTANCE('chk')}`);
  const r = loadConfigFile(f, { scriptHost: hostWith({}) });
  assert.ok(r.ok);
  assert.deepEqual(lines(r), [`${f}:5:10: warning: vrrp_script.chk.script: SECURITY VIOLATION: 1 script(s) are run (1 as root) but enable_script_security is not set in global_defs (keepalived -t exits 6) [WARN_SCRIPT_SECURITY]`]);
  assert.equal(exitCodeFor(r), EXIT_CODES.CONFIG_TEST_SECURITY);
  assert.deepEqual(r.model.vrrpScripts.chk!.script.argv, [chk, '--fast']);

  const on = conf(dir, `vrrp_script chk {\n  script "${chk}"\n}\n${INSTANCE('chk')}`, '  enable_script_security\n  script_user root\n');
  const r2 = loadConfigFile(on, { scriptHost: hostWith({}) });
  assert.ok(r2.ok);
  assert.deepEqual(lines(r2), []);
  assert.equal(exitCodeFor(r2), EXIT_CODES.OK);
}));

test('enable_script_security refuses a root script a non-root user could change: a vrrp_script is disabled with its track_script lines', { skip }, withDir((dir) => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['file writable by a non-root group', () => script(join(dir, 'g.sh'), 0o775, 0, 1000), /`[^`]*\/g\.sh` is writable by group 1000/],
    ['file owned by a user', () => script(join(dir, 'u.sh'), 0o755, 1000, 0), /`[^`]*\/u\.sh` is owned by uid 1000/],
    ['world-writable directory', () => {
      mkdirSync(join(dir, 'open'));
      chmodSync(join(dir, 'open'), 0o777);
      return script(join(dir, 'open', 'o.sh'));
    }, /`[^`]*\/open` is writable by everyone/],
    ['directory owned by a user', () => {
      mkdirSync(join(dir, 'mine'));
      chownSync(join(dir, 'mine'), 1000, 1000);
      return script(join(dir, 'mine', 'm.sh'));
    }, /`[^`]*\/mine` is owned by uid 1000/],
    ['a symlink to a file a user owns', () => {
      mkdirSync(join(dir, 'lib'));
      script(join(dir, 'lib', 'target.sh'), 0o755, 1000, 1000);
      symlinkSync(join(dir, 'lib', 'target.sh'), join(dir, 'link.sh'));
      return join(dir, 'link.sh');
    }, /`[^`]*\/lib\/target\.sh` is owned by uid 1000/],
  ];
  for (const [what, make, why] of cases) {
    const path = make();
    const f = conf(dir, `vrrp_script chk {\n  script "${path}"\n  weight -20\n}\nvrrp_script other {\n  script /bin/true\n}\n${INSTANCE('chk\n    other')}`, '  enable_script_security\n  script_user root\n');
    const r = loadConfigFile(f, { scriptHost: hostWith({}) });
    assert.ok(r.ok, what);
    const ls = lines(r);
    assert.equal(ls.length, 1, `${what}: ${ls.join('\n')}`);
    assert.ok(ls[0]!.startsWith(`${f}:7:10: warning: vrrp_script.chk.script: vrrp_script chk is refused (enable_script_security): it runs as root and `), ls[0]);
    assert.match(ls[0]!, why, what);
    assert.match(ls[0]!, /the instances and sync groups tracking it ignore it, as keepalived does \[WARN_SCRIPT_INSECURE\]$/);
    assert.deepEqual(Object.keys(r.model.vrrpScripts), ['other'], `${what}: the refused script is not in the model`);
    assert.deepEqual(r.model.instances.VI_1!.trackScripts.map((t) => t.name), ['other'], `${what}: nor tracked`);
    assert.deepEqual(r.model.vrrpScripts.other!.script.argv, ['/usr/bin/true'], 'resolved through the /bin symlink');
    assert.equal(exitCodeFor(r), EXIT_CODES.OK, 'a refusal is a warning: the daemon runs without the script, as keepalived');
  }
}));

test('without enable_script_security an insecure root script is a warning and still runs; a sticky world-writable directory is fine', { skip }, withDir((dir) => {
  const bad = script(join(dir, 'g.sh'), 0o775, 0, 1000);
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  const sticky = script(join(dir, 'tmp', 's.sh'));
  const f = conf(dir, `vrrp_script a {\n  script ${bad}\n}\nvrrp_script b {\n  script ${sticky}\n}\n${INSTANCE('a\n    b')}`, '  script_user root\n');
  const r = loadConfigFile(f, { scriptHost: hostWith({}) });
  assert.ok(r.ok);
  assert.deepEqual(codes(r), ['WARN_SCRIPT_INSECURE', 'WARN_SCRIPT_SECURITY']);
  assert.match(lines(r)[0]!, /vrrp_script a runs as root and `[^`]*\/g\.sh` is writable by group 1000, so a non-root user could change what root runs; enable_script_security would refuse it/);
  assert.match(lines(r)[1]!, /SECURITY VIOLATION: 2 script\(s\) are run \(2 as root\)/);
  assert.deepEqual(Object.keys(r.model.vrrpScripts), ['a', 'b']);
  assert.equal(exitCodeFor(r), EXIT_CODES.CONFIG_TEST_SECURITY);
}));

test('a script run as a non-root user needs no safe path; a setuid-root file does', { skip }, withDir((dir) => {
  const writable = script(join(dir, 'g.sh'), 0o775, 0, 1000);
  const users = { worker: { uid: 1001, gid: 1001 } };
  const f = conf(dir, `vrrp_script a {\n  script ${writable}\n  user worker\n}\n${INSTANCE('a')}`, '  enable_script_security\n');
  const r = loadConfigFile(f, { scriptHost: hostWith(users) });
  assert.ok(r.ok);
  assert.deepEqual(lines(r), []);
  assert.deepEqual(Object.keys(r.model.vrrpScripts), ['a']);

  const suid = script(join(dir, 'suid'), 0o4775, 0, 1000);
  const f2 = conf(dir, `vrrp_script a {\n  script ${suid}\n  user worker\n}\n${INSTANCE('a')}`, '  enable_script_security\n');
  const r2 = loadConfigFile(f2, { scriptHost: hostWith(users) });
  assert.ok(r2.ok);
  assert.deepEqual(codes(r2), ['WARN_SCRIPT_INSECURE']);
  assert.deepEqual(Object.keys(r2.model.vrrpScripts), []);
}));

test('missing, not executable, unknown user: the script is disabled wherever it sits (vrrp_script, notify, quorum, notify_up, MISC_CHECK)', { skip }, withDir((dir) => {
  const ok = script(join(dir, 'ok.sh'));
  const noexec = script(join(dir, 'noexec.sh'), 0o644);
  const f = conf(dir, `vrrp_script gone {\n  script ${join(dir, 'gone.sh')}\n}
${INSTANCE('gone', `  notify_master ${noexec}\n  notify_backup ${ok} ghost\n  notify ${ok}\n`)}
virtual_server 198.18.0.10 80 {
  protocol TCP
  quorum_up ${join(dir, 'nope')}
  quorum_down ${ok}
  real_server 198.18.1.1 80 {
    notify_up ${noexec}
    notify_down ${ok}
    MISC_CHECK {
      misc_path "${join(dir, 'missing-check')} 198.18.1.1"
    }
  }
  real_server 198.18.1.2 80 {
    MISC_CHECK {
      misc_path ${ok}
    }
    TCP_CHECK {
    }
    MISC_CHECK {
      misc_path ${noexec}
    }
  }
}
`, '  enable_script_security\n  script_user root\n');
  const r = loadConfigFile(f, { scriptHost: hostWith({}) });
  assert.ok(r.ok, lines(r).join('\n'));
  const msgs = r.warnings.map((d) => `${d.pos!.line}: ${d.message}`);
  assert.deepEqual(msgs, [
    `7: vrrp_script gone is disabled: \`${join(dir, 'gone.sh')}\` cannot be accessed (ENOENT); the instances and sync groups tracking it ignore it, as keepalived does`,
    `19: notify_master of vrrp_instance VI_1 is disabled: \`${noexec}\` is not executable by uid:gid 0:0; it is not run`,
    '20: notify_backup of vrrp_instance VI_1 is disabled: its user `ghost` does not exist; it is not run',
    `26: quorum_up of virtual_server tcp:198.18.0.10:80 is disabled: \`${join(dir, 'nope')}\` cannot be accessed (ENOENT); it is not run`,
    `29: notify_up of real_server 198.18.1.1:80 in tcp:198.18.0.10:80 is disabled: \`${noexec}\` is not executable by uid:gid 0:0; it is not run`,
    `32: MISC_CHECK misc:198.18.1.1:80#0 of real_server 198.18.1.1:80 in tcp:198.18.0.10:80 is disabled: \`${join(dir, 'missing-check')}\` cannot be accessed (ENOENT); the check is removed, as keepalived does: the real server has no checker left and counts as up`,
    `42: MISC_CHECK misc:198.18.1.2:80#1 of real_server 198.18.1.2:80 in tcp:198.18.0.10:80 is disabled: \`${noexec}\` is not executable by uid:gid 0:0; the check is removed, as keepalived does`,
  ]);
  assert.ok(r.warnings.every((d) => d.code === 'WARN_SCRIPT_DISABLED' && d.pos!.file === f));
  const m = r.model;
  assert.deepEqual(m.vrrpScripts, {});
  assert.deepEqual(m.instances.VI_1!.trackScripts, []);
  assert.equal(m.instances.VI_1!.notify.master, null);
  assert.equal(m.instances.VI_1!.notify.backup, null);
  assert.deepEqual(m.instances.VI_1!.notify.generic!.argv, [ok]);
  const vs = m.virtualServers['tcp:198.18.0.10:80']!;
  assert.equal(vs.quorumUp, null);
  assert.deepEqual(vs.quorumDown!.argv, [ok]);
  assert.equal(vs.realServers['198.18.1.1:80']!.notifyUp, null);
  assert.deepEqual(vs.realServers['198.18.1.1:80']!.checkers, []);
  assert.deepEqual(vs.realServers['198.18.1.2:80']!.checkers.map((c) => c.key), ['misc:198.18.1.2:80#0', 'tcp:198.18.1.2:80#0']);
  assert.ok(Object.isFrozen(m.virtualServers), 'the model stays immutable');
}));

test('enable_script_security without script_user needs keepalived_script: without it scripts are disabled, with it they run as that user', { skip }, withDir((dir) => {
  const ok = script(join(dir, 'ok.sh'));
  const body = `vrrp_script chk {\n  script ${ok}\n}\n${INSTANCE('chk')}`;
  const f = conf(dir, body, '  enable_script_security\n');
  const r = loadConfigFile(f, { scriptHost: hostWith({}) });
  assert.ok(r.ok);
  assert.deepEqual(r.warnings.map((d) => d.message), [
    'vrrp_script chk is disabled: no script_user is set and the default user `keepalived_script` does not exist (with enable_script_security scripts do not fall back to root); the instances and sync groups tracking it ignore it, as keepalived does',
  ]);
  const r2 = loadConfigFile(f, { scriptHost: hostWith({ keepalived_script: { uid: 990, gid: 990 } }) });
  assert.ok(r2.ok);
  assert.deepEqual(lines(r2), []);
  assert.deepEqual(r2.model.global.scriptUser, { user: 'keepalived_script', group: null }, 'the scripts run as keepalived_script');
  // Without enable_script_security keepalived_script is used too when it exists, else root.
  const f3 = conf(dir, body);
  const r3 = loadConfigFile(f3, { scriptHost: hostWith({}) });
  assert.ok(r3.ok);
  assert.equal(r3.model.global.scriptUser, null);
  assert.match(r3.warnings[0]!.message, /\(1 as root\)/);
  const r4 = loadConfigFile(f3, { scriptHost: hostWith({ keepalived_script: { uid: 990, gid: 990 } }) });
  assert.ok(r4.ok);
  assert.deepEqual(r4.model.global.scriptUser, { user: 'keepalived_script', group: null });
  assert.match(r4.warnings[0]!.message, /\(0 as root\)/);
  // An unknown script_user disables the scripts that have no user of their own.
  const f5 = conf(dir, body, '  script_user nosuchuser\n');
  const r5 = loadConfigFile(f5, { scriptHost: hostWith({}) });
  assert.ok(r5.ok);
  assert.match(r5.warnings[0]!.message, /vrrp_script chk is disabled: script_user `nosuchuser` does not exist/);
}));

test('a command without a / is found in PATH and replaced by its full path; one not found is disabled', { skip }, withDir((dir) => {
  const f = conf(dir, `vrrp_script a {\n  script "true --x"\n}\nvrrp_script b {\n  script "lvt-no-such-command-xyz"\n}\n${INSTANCE('a\n    b')}`, '  enable_script_security\n  script_user root\n');
  const r = loadConfigFile(f, { scriptHost: hostWith({}) });
  assert.ok(r.ok);
  assert.deepEqual(r.warnings.map((d) => [d.code, d.message]), [
    ['WARN_SCRIPT_PATH_SEARCH', '`true` of vrrp_script a was found by a PATH search at `/usr/bin/true`; write the full path'],
    ['WARN_SCRIPT_DISABLED', 'vrrp_script b is disabled: `lvt-no-such-command-xyz` is not found in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin); the instances and sync groups tracking it ignore it, as keepalived does'],
  ]);
  assert.deepEqual(r.model.vrrpScripts.a!.script.argv, ['/usr/bin/true', '--x']);
}));

test('the rules one by one: is_executable, the path walk, a symlink keeping its name', { skip }, withDir((dir) => {
  const st = (mode: number, uid = 0, gid = 0) => ({ kind: 'file' as const, uid, gid, mode, dev: 1, ino: 1 });
  assert.equal(isExecutable(st(0o700), { uid: 0, gid: 0 }), true);
  assert.equal(isExecutable(st(0o001), { uid: 0, gid: 5 }), true, 'root needs any x bit');
  assert.equal(isExecutable(st(0o644), { uid: 0, gid: 0 }), false);
  assert.equal(isExecutable(st(0o100, 7), { uid: 7, gid: 7 }), true);
  assert.equal(isExecutable(st(0o011, 7), { uid: 7, gid: 7 }), false, 'the owner uses the owner bits');
  assert.equal(isExecutable(st(0o010, 0, 9), { uid: 8, gid: 9 }), true);
  assert.equal(isExecutable(st(0o001, 0, 9), { uid: 8, gid: 9 }), false, 'the group uses the group bits');
  assert.equal(isExecutable(st(0o001, 0, 9), { uid: 8, gid: 3 }), true);

  const host = realScriptHost();
  const s = script(join(dir, 'x.sh'));
  assert.equal(pathProblem(host, s), null);
  chmodSync(dir, 0o775);
  chownSync(dir, 0, 1000);
  assert.deepEqual(pathProblem(host, s), { kind: 'unsafe', at: dir, why: 'is writable by group 1000' });
  chmodSync(dir, 0o755);
  chownSync(dir, 0, 0);
  // A symlink whose name differs: run by its own name in the target's directory when that is the same file.
  mkdirSync(join(dir, 'bin'));
  const target = script(join(dir, 'bin', 'real-tool'));
  symlinkSync(target, join(dir, 'bin', 'tool'));
  symlinkSync(join(dir, 'bin', 'tool'), join(dir, 'tool-link'));
  const v = checkCommand(host, join(dir, 'tool-link'), { uid: 0, gid: 0 });
  assert.equal(v.argv0, join(dir, 'bin', 'real-tool'), 'bin/tool-link does not exist: the real path is run');
  const v2 = checkCommand(host, join(dir, 'bin', 'tool'), { uid: 0, gid: 0 });
  assert.equal(v2.argv0, null, 'bin/tool is the same file as bin/real-tool: run by the name written');
  assert.equal(v2.insecure, null);
  // a symlink owned by a user as the last part
  symlinkSync(target, join(dir, 'bin', 'user-link'));
  lchownSync(join(dir, 'bin', 'user-link'), 1000, 1000);
  assert.deepEqual(pathProblem(host, join(dir, 'bin', 'user-link')), { kind: 'unsafe', at: join(dir, 'bin', 'user-link'), why: 'is owned by uid 1000' });
}));

test('lvsd --test exits 6 for scripts without enable_script_security, 0 with it', { skip }, withDir(async (dir) => {
  const chk = script(join(dir, 'chk.sh'));
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
  const f = conf(dir, `vrrp_script chk {\n  script ${chk}\n}\n${INSTANCE('chk')}`, '  script_user root\n');
  assert.equal(await lvsdMain(['--test', '-f', f], io), EXIT_CODES.CONFIG_TEST_SECURITY);
  assert.match(out.join(''), /SECURITY VIOLATION: 1 script\(s\) are run \(1 as root\) .* \[WARN_SCRIPT_SECURITY\]/);
  const f2 = conf(dir, `vrrp_script chk {\n  script ${chk}\n}\n${INSTANCE('chk')}`, '  script_user root\n  enable_script_security\n');
  out.length = 0;
  assert.equal(await lvsdMain(['--test', '-f', f2], io), EXIT_CODES.OK);
  assert.match(out.join(''), /configuration OK/);
}));
