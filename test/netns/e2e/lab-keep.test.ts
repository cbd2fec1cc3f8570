/**
 * The lab's lifecycle around the story, as a person drives it:
 * - `npm run lab -- --keep` leaves the namespaces, both lvsd daemons and the real servers
 *   running, and prints the commands to reach them; the printed commands work (lvsadm
 *   against each director, curl through the VIP from the client);
 * - `npm run lab -- --down` then removes everything: the processes it recorded (by PID),
 *   the namespaces, the state directory; and it does so from a tree without dist/ and
 *   without the native addon (it needs neither);
 * - Ctrl-C (SIGINT to the lab's whole process group, as a terminal sends it) while lvsd
 *   starts, and twice in the middle of the story: the lab removes everything, the second
 *   Ctrl-C does not cut the removal short, and no process the run started survives;
 * - the lab itself killed (SIGKILL: no cleanup at all) the moment its first real server
 *   exists: that server is already in the state file (recorded at spawn, not once it
 *   listens, so a `--down` after any crash knows it), and `--down` removes the rest.
 * Each run has its own namespace prefix and state directory (never a person's kept lab).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canUseNetns, run } from '../../../src/lab/topology.js';
import { PACKAGE_ROOT } from '../../../src/lab/paths.js';
import { LAB } from '../../../src/lab/network.js';
import type { LabState } from '../../../src/lab/state.js';
import { labRunIds, leftovers, namespacesOf, processesOf, runs, scrub, startLab, type LabRunIds } from './lib/lab-run.js';
import { sleep } from './lib/pair.js';

const skip = !canUseNetns() && 'needs root and iproute2';
const HOSTS = ['front', 'back', LAB.client.name, ...LAB.directors.map((d) => d.name), ...LAB.reals.map((r) => r.name)];

/** A copy of the package without dist/ and without the native addon (node_modules linked). */
function treeWithoutBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'lvt-nobuild-'));
  mkdirSync(join(root, 'bin'));
  cpSync(join(PACKAGE_ROOT, 'bin', 'lab.js'), join(root, 'bin', 'lab.js'));
  for (const d of ['src', 'config']) cpSync(join(PACKAGE_ROOT, d), join(root, d), { recursive: true });
  cpSync(join(PACKAGE_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** A command the lab printed (`     COMMAND  # comment`) whose text matches. */
function printed(out: string, match: RegExp): string {
  const cmd = out.split('\n').filter((l) => l.includes('  # ')).map((l) => l.slice(0, l.indexOf('  # ')).trim()).find((c) => match.test(c));
  assert.ok(cmd, `the lab printed a command matching ${match}:\n${out}`);
  return cmd;
}

async function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // As a person runs it: from the package directory, without the lab's environment.
  return run('bash', ['-c', `cd ${PACKAGE_ROOT} && ${command}`], 20_000, false);
}

test('--keep leaves the lab running with working commands; --down (without dist/ or the addon) removes all of it', { skip, timeout: 180_000 }, async (t) => {
  const ids = labRunIds('e2ekeep');
  const noBuild = treeWithoutBuild();
  try {
    const lab = startLab(ids, ['--keep']);
    const { code } = await lab.exited;
    const out = lab.output();
    assert.equal(code, 0, out);
    assert.ok(out.includes('The lab keeps running') && out.includes('Remove it: npm run lab -- --down'), out);

    // Still there: every namespace, both lvsd daemons and the three real servers, by the PIDs recorded.
    assert.deepEqual((await namespacesOf(ids)).sort(), HOSTS.map((h) => `${ids.prefix}${h}`).sort());
    const state = lab.lastState();
    assert.ok(state && existsSync(join(ids.stateDir, 'state.json')), 'the state file is kept');
    const alive = state!.processes.filter((p) => runs(p.pid, p.program));
    assert.equal(alive.filter((p) => p.program === 'lvsd.js').length, 2, `both lvsd run: ${JSON.stringify(state!.processes)}`);
    assert.equal(alive.filter((p) => p.program === 'real-server.js').length, 3, 'the three real servers run');
    assert.deepEqual(processesOf(ids).map((p) => p.pid).sort(), alive.map((p) => p.pid).sort(), 'nothing else of the run is left running (no client, no stray helper)');

    // The printed commands work.
    const vrrp1 = await sh(printed(out, /--control \S+dir1\.sock vrrp$/));
    assert.equal(vrrp1.code, 0, vrrp1.stderr);
    assert.match(vrrp1.stdout, /VI_FRONT\s+MASTER/);
    const vrrp2 = await sh(printed(out, /--control \S+dir2\.sock vrrp$/));
    assert.match(vrrp2.stdout, /VI_FRONT\s+BACKUP/);
    const checks = await sh(printed(out, /--control \S+dir1\.sock checks$/));
    assert.equal(checks.code, 0, checks.stderr);
    assert.equal((checks.stdout.match(/\bUP\b/g) ?? []).length, 3, checks.stdout);
    const curl = await sh(printed(out, /curl -s http:/));
    assert.equal(curl.code, 0, curl.stderr);
    assert.match(curl.stdout.trim(), /^rs[123]$/, 'a request through the VIP answers');

    // --down, from a tree with neither dist/ nor the native addon.
    assert.ok(!existsSync(join(noBuild, 'dist')) && !existsSync(join(noBuild, 'native')));
    const down = startLab(ids, ['--down'], { root: noBuild });
    const d = await down.exited;
    const said = down.output();
    assert.equal(d.code, 0, said);
    assert.match(said, /lab: stopped 5 process\(es\): /);
    assert.match(said, new RegExp(`lab: removed ${HOSTS.length} namespace\\(s\\)`));
    assert.ok(said.includes(`lab: removed ${ids.stateDir}`), said);
    for (const p of alive) assert.ok(!runs(p.pid, p.program), `${p.program} pid ${p.pid} stopped`);
    assert.deepEqual(await leftovers(ids), { namespaces: [], processes: [], stateDir: false });
    const again = startLab(ids, ['--down']);
    assert.equal((await again.exited).code, 0);
    assert.equal(again.output().trim(), 'lab: nothing to remove');
    t.diagnostic(`E2E_MEASURE lab-keep ${JSON.stringify({ down: said.trim().split('\n').map((l) => l.slice(0, 60)) })}`);
  } finally {
    rmSync(noBuild, { recursive: true, force: true });
    await scrub(ids);
  }
});

/** Ctrl-C as a terminal sends it: SIGINT to the lab's whole process group. */
function ctrlC(pid: number): void {
  process.kill(-pid, 'SIGINT');
}

async function interrupted(ids: LabRunIds, when: string, presses: number): Promise<{ out: string; code: number | null; recorded: number }> {
  const lab = startLab(ids, [], { group: true });
  await lab.waitOutput(when, 60_000);
  const recorded = lab.lastState()?.processes ?? [];
  ctrlC(lab.child.pid!);
  for (let i = 1; i < presses; i++) {
    await sleep(60);
    if (lab.child.exitCode === null) ctrlC(lab.child.pid!);
  }
  const { code } = await lab.exited;
  const left = await leftovers(ids);
  for (const p of lab.lastState()?.processes ?? recorded) assert.ok(!runs(p.pid, p.program), `recorded ${p.program} pid ${p.pid} no longer runs`);
  assert.deepEqual(left, { namespaces: [], processes: [], stateDir: false }, `nothing left after Ctrl-C at "${when}":\n${lab.output()}`);
  return { out: lab.output(), code, recorded: (lab.lastState()?.processes ?? recorded).length };
}

test('Ctrl-C while lvsd starts: everything the lab started is removed', { skip, timeout: 90_000 }, async (t) => {
  const ids = labRunIds('e2eint');
  try {
    const r = await interrupted(ids, 'starting lvsd on dir1', 1);
    assert.equal(r.code, 130, r.out);
    assert.ok(r.out.includes('interrupted (SIGINT): removing the lab'), r.out);
    t.diagnostic(`E2E_MEASURE lab-sigint-start ${JSON.stringify({ code: r.code, recorded: r.recorded })}`);
  } finally {
    await scrub(ids);
  }
});

test('Ctrl-C twice in the middle of the story: the second one does not cut the removal short', { skip, timeout: 90_000 }, async (t) => {
  const ids = labRunIds('e2eint');
  try {
    const r = await interrupted(ids, 'Act 2 · rs2 fails its health check', 2);
    assert.equal(r.code, 130, r.out);
    assert.ok(r.out.includes('interrupted (SIGINT): removing the lab'), r.out);
    assert.ok(r.out.includes('still removing the lab'), `the second Ctrl-C came during the removal and was refused:\n${r.out}`);
    assert.ok(r.recorded >= 5, `lvsd twice and three real servers were running: ${r.recorded}`);
    t.diagnostic(`E2E_MEASURE lab-sigint-story ${JSON.stringify({ code: r.code, recorded: r.recorded })}`);
  } finally {
    await scrub(ids);
  }
});

test('the lab SIGKILLed as its first real server starts: the server was recorded at spawn, --down removes the rest', { skip, timeout: 90_000 }, async (t) => {
  const ids = labRunIds('e2ecrash');
  try {
    const lab = startLab(ids, []);
    let real: { pid: number; cmdline: string } | undefined;
    for (const end = Date.now() + 60_000; !real && Date.now() < end;) {
      real = processesOf(ids).find((p) => p.cmdline.includes('real-server.js'));
      if (!real) await sleep(5);
    }
    assert.ok(real, `a real server started:\n${lab.output()}`);
    const seenAt = Date.now();
    // Recorded at spawn: in the state file within milliseconds, long before Node has started
    // and the server listens (a few hundred ms).
    const stateFile = join(ids.stateDir, 'state.json');
    const recorded = () => {
      try {
        return (JSON.parse(readFileSync(stateFile, 'utf8')) as LabState).processes.some((p) => p.pid === real!.pid && p.program === 'real-server.js');
      } catch {
        return false;
      }
    };
    while (!recorded() && Date.now() - seenAt < 30) await sleep(2);
    const recordedAfterMs = Date.now() - seenAt;
    const isRecorded = recorded();
    const listening = (await run('ip', ['netns', 'exec', `${ids.prefix}rs1`, 'ss', '-Hltn'], 10_000, false)).stdout.includes(':80');
    lab.child.kill('SIGKILL');
    await lab.exited;
    assert.ok(isRecorded, `real server pid ${real.pid} is in the state file ${recordedAfterMs} ms after it appeared (before it listens: ${!listening})`);
    const down = startLab(ids, ['--down']);
    assert.equal((await down.exited).code, 0, down.output());
    assert.ok(!runs(real.pid, 'real-server.js'), `it no longer runs:\n${down.output()}`);
    assert.deepEqual(await leftovers(ids), { namespaces: [], processes: [], stateDir: false }, down.output());
    t.diagnostic(`E2E_MEASURE lab-crash ${JSON.stringify({ recordedAfterMs, listeningWhenRecorded: listening, down: down.output().trim().split('\n').map((l) => l.slice(0, 70)) })}`);
  } finally {
    await scrub(ids);
  }
});
