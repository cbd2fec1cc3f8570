/**
 * `npm run lab`: lvsd's whole job in one command. Builds a client, two directors and three
 * real servers in network namespaces, starts lvsd on both directors from config/lab/, and
 * plays the story (src/lab/story.ts) under traffic. Everything it built is removed at the
 * end, after a failure and on Ctrl-C, unless `--keep` asks to leave the lab running;
 * `--down` removes a kept lab.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { interruptedBySignal, Topology } from './topology.js';
import { LAB } from './network.js';
import { PACKAGE_ROOT, PROGRAMS } from './paths.js';
import { Renderer } from './render.js';
import { runStory, type StoryResult } from './story.js';
import { LAB_PREFIX, LAB_STATE_DIR, labDown, labPresent, makeStateDir, writeState, type StartedProcess } from './state.js';
import { join, relative } from 'node:path';

const HELP = `usage: npm run lab [-- --keep | --down]

Builds a small network in namespaces (${LAB_PREFIX}*): a client, two lvsd directors and three
HTTP real servers; sends traffic through the VIP ${LAB.vip} and plays a short story while it
prints both directors' log lines. Needs root, iproute2 and nftables.

  --keep    leave the lab running afterwards and print how to reach each host
  --down    remove a lab left by --keep (or by a run that was killed)
  -h        this text`;

/** What the prerequisite check may look at (the real machine by default; tests pass their own). */
export interface PrerequisiteProbe {
  readonly isRoot: () => boolean;
  /** True when the command runs (exit 0). */
  readonly works: (cmd: string, args: string[]) => boolean;
  readonly exists: (path: string) => boolean;
}

const MACHINE: PrerequisiteProbe = {
  isRoot: () => process.getuid?.() === 0,
  works: (cmd, args) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  },
  exists: existsSync,
};

/**
 * What is missing to run the lab (`run`) or to remove one (`down`), each named so a person
 * can fix it. Removing needs only root and iproute2: a kept lab must be removable even after
 * dist/ or the native addon is gone.
 */
export function missingPrerequisites(mode: 'run' | 'down' = 'run', probe: PrerequisiteProbe = MACHINE): string[] {
  const missing: string[] = [];
  if (!probe.isRoot()) missing.push(`root: the lab ${mode === 'down' ? 'removes' : 'creates'} network namespaces (run it as root, e.g. \`sudo npm run lab${mode === 'down' ? ' -- --down' : ''}\`)`);
  if (!probe.works('ip', ['-V'])) missing.push('the `ip` command (Debian package iproute2)');
  if (mode === 'down') return missing;
  if (!probe.works('nft', ['--version'])) missing.push('the `nft` command (Debian package nftables): lvsd loads its netdev table with it');
  const built = [PROGRAMS.realServer, PROGRAMS.httpClient, join(PACKAGE_ROOT, 'dist', 'cli', 'lvsd.js')].filter((p) => !probe.exists(p));
  if (built.length) missing.push(`the compiled code (${built.map((p) => relative(PACKAGE_ROOT, p)).join(', ')}): run \`npm ci\` (it builds dist/) or \`npm run build\``);
  if (!probe.exists(join(PACKAGE_ROOT, 'native', 'build', 'Release', 'lvsd_native.node'))) {
    missing.push('the native addon (native/build/Release/lvsd_native.node): run `npm ci` (needs make, g++ and python3) or `node native/build.mjs`');
  }
  return missing;
}

/** Runs the lab command line; resolves with the exit status. */
export async function labMain(argv: string[]): Promise<number> {
  let values: { keep?: boolean; down?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { keep: { type: 'boolean' }, down: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`lab: ${(e as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (values.keep && values.down) {
    process.stderr.write(`lab: --keep and --down do not go together\n${HELP}\n`);
    return 2;
  }
  const missing = missingPrerequisites(values.down ? 'down' : 'run');
  if (missing.length) {
    process.stderr.write(`lab: cannot ${values.down ? 'remove the lab' : 'start'}, missing:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
    return 1;
  }
  if (values.down) {
    const said = await labDown();
    process.stdout.write(said.length ? said.map((s) => `lab: ${s}\n`).join('') : 'lab: nothing to remove\n');
    return 0;
  }
  if (await labPresent()) {
    process.stderr.write(`lab: a lab is already there (${LAB_PREFIX}* namespaces or ${LAB_STATE_DIR}); remove it first: npm run lab -- --down\n`);
    return 1;
  }
  return runLab(!!values.keep);
}

async function runLab(keep: boolean): Promise<number> {
  const out = new Renderer();
  let finished = false;
  // Registered before the topology's own handlers, which remove the lab (bounded, and not cut
  // short by a second Ctrl-C) and then exit 128+signal.
  let interrupted = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (finished) return;
      out.line(interrupted++ === 0 ? `\n${out.yellow(`interrupted (${sig}):`)} removing the lab` : out.yellow('still removing the lab; it stops when everything is gone'));
    });
  }
  process.on('exit', () => {
    if (!finished || !keep) rmSync(LAB_STATE_DIR, { recursive: true, force: true });
  });
  const topo = new Topology('lab', { prefix: LAB_PREFIX });
  const stateDir = makeStateDir();
  const processes: StartedProcess[] = [];
  const started = (p: StartedProcess) => {
    processes.push(p);
    writeState({ startedAt: new Date().toISOString(), processes });
  };
  writeState({ startedAt: new Date().toISOString(), processes });
  let result: StoryResult | null = null;
  try {
    result = await runStory({ topo, out, stateDir, started });
  } catch (e) {
    if (interruptedBySignal()) {
      // The story broke because the lab is being removed under it: let that finish.
      await topo.cleanup();
      return new Promise<number>(() => {}); // the signal handler exits
    }
    out.line();
    out.line(out.red(`lab: ${(e as Error).message}`));
    out.line('lab: removing the lab');
    await topo.cleanup();
    rmSync(LAB_STATE_DIR, { recursive: true, force: true });
    finished = true;
    return 1;
  }
  if (!keep) {
    out.line();
    out.line(out.dim('removing the lab (stopping lvsd cleanly, deleting the namespaces)...'));
    for (const d of result.directors) d.close();
    await topo.cleanup();
    rmSync(LAB_STATE_DIR, { recursive: true, force: true });
    finished = true;
    out.line(out.dim(`done. \`npm run lab -- --keep\` leaves it running to explore.`));
    return 0;
  }
  for (const d of result.directors) d.close();
  topo.detach();
  finished = true;
  printKeep(out, topo);
  return 0;
}

function printKeep(out: Renderer, topo: Topology): void {
  const lvsadm = `node ${relative(process.cwd(), PROGRAMS.lvsadm) || PROGRAMS.lvsadm}`;
  const ns = (h: string) => topo.ns(h);
  const sock = (d: string) => join(LAB_STATE_DIR, `${d}.sock`);
  const [d1, d2] = LAB.directors.map((d) => d.name) as [string, string];
  const block = (title: string, rows: Array<[string, string]>) => {
    out.line(`   ${title}`);
    const w = Math.max(...rows.map(([c]) => c.length));
    for (const [c, what] of rows) out.line(`     ${c.padEnd(w)}  ${out.dim(`# ${what}`)}`);
    out.line();
  };
  out.section('The lab keeps running', ['Everything below runs as root, from this directory.']);
  out.line();
  block('Reach the hosts:', [
    [`ip netns exec ${ns('client')} curl -s http://${LAB.vip}/`, 'a request through the VIP'],
    ...LAB.directors.map((d): [string, string] => [`ip netns exec ${ns(d.name)} bash`, `a shell on ${d.name}`]),
    ...LAB.reals.map((r): [string, string] => [`ip netns exec ${ns(r.name)} bash`, `a shell on ${r.name} (${r.address})`]),
  ]);
  block('Ask the directors (their control sockets are files: no namespace needed):', [
    [`${lvsadm} --control ${sock(d1)} vrrp`, `${d1}'s VRRP instances`],
    [`${lvsadm} --control ${sock(d2)} vrrp`, `${d2}'s VRRP instances`],
    [`${lvsadm} --control ${sock(d1)} -L -n --stats`, 'virtual services, as ipvsadm lists them'],
    [`${lvsadm} --control ${sock(d1)} checks`, 'real servers\' health'],
    [`${lvsadm} --control ${sock(d1)} watch`, 'the event stream (Ctrl-C to stop)'],
  ]);
  block('Play with it:', [
    [`touch ${LAB_STATE_DIR}/rs2.fail`, 'rs2\'s /health answers 503; rm the file to recover'],
    [`${lvsadm} --control ${sock(d1)} reload`, `after editing ${LAB_STATE_DIR}/${d1}.conf (lvsd --test -f it first)`],
    [`npx pino-pretty < ${LAB_STATE_DIR}/${d1}.log`, `${d1}'s log (JSON lines; ${d2}.log beside it)`],
  ]);
  out.line('   Remove it: npm run lab -- --down');
}
