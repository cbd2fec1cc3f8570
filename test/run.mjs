#!/usr/bin/env node
// Test runner: collects test/**/*.test.ts itself (Node 20's --test does not expand `**`),
// runs the in-process tiers (unit, golden, integration) concurrently and the netns tier one
// file at a time (its scenarios measure failover gaps in milliseconds and must not fight
// each other for two cores), and fails when it finds no test at all.
//
//   node test/run.mjs                 every tier
//   node test/run.mjs unit vrrp       only files whose path contains every word given
//   LVSD_TEST_TIERS=unit,integration  only those tiers (netns is skipped without root anyway,
//                                     and says so)
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const words = process.argv.slice(2);
const tiers = (process.env.LVSD_TEST_TIERS ?? 'unit,golden,integration,netns').split(',');
const all = collect(testDir, []).filter((f) => {
  const rel = relative(root, f);
  return words.every((w) => rel.includes(w));
});
if (all.length === 0) {
  console.error(`test/run.mjs: no test files found under test/${words.length ? ` matching ${words.join(' ')}` : ''}`);
  process.exit(1);
}

const tierOf = (f) => relative(testDir, f).split(sep)[0];
const inProcess = all.filter((f) => tierOf(f) !== 'netns' && tiers.includes(tierOf(f)));
let netns = all.filter((f) => tierOf(f) === 'netns' && tiers.includes('netns'));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (netns.length && !isRoot) {
  console.error(`test/run.mjs: ${netns.length} netns test file(s) need root; not run`);
  netns = [];
}

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const args = [
    '--import', 'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files.map((f) => relative(root, f)),
  ];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// The netns tier runs the daemon as users do (bin/lvsd.js → dist/), so build it first
// (incremental: seconds when little changed).
function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('test/run.mjs: build failed');
    process.exit(1);
  }
}

let status = 0;
if (netns.length) build();
status |= run(inProcess, 2);
status |= run(netns, 1);
if (inProcess.length + netns.length === 0) {
  console.error('test/run.mjs: no test ran');
  process.exit(1);
}
process.exit(status === 0 ? 0 : 1);
