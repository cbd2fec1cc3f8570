/**
 * `npm run bench`: every benchmark of the project, one after the other, each in its own
 * process (so one's JIT state, heap and namespaces do not colour the next):
 *   - bench/forward.ts     lvsd NAT vs direct, nftables DNAT and HAProxy; connection table (root)
 *   - bench/io-rx.ts       AF_PACKET receive paths: recvmmsg vs TPACKET_V3 (root)
 *   - bench/schedulers.ts  scheduler picks per second
 *   - bench/checks.ts      1,000 checked real servers on one core: event-loop delay
 *
 *   npm run bench [-- --only forward,schedulers] [-- --quick]
 *
 * `--quick` shortens every bench (fewer repetitions, shorter windows) for a smoke run.
 * Benches that need root are skipped (and say so) without it. Exit status: non-zero when a
 * bench failed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Bench {
  readonly name: string;
  readonly file: string;
  readonly root: boolean;
  readonly args: readonly string[];
  readonly quick: readonly string[];
  readonly node?: readonly string[];
}

const BENCHES: readonly Bench[] = [
  { name: 'forward', file: 'forward.ts', root: true, args: [], quick: ['--seconds', '2', '--reps', '1'], node: ['--expose-gc'] },
  { name: 'io-rx', file: 'io-rx.ts', root: true, args: [], quick: ['--seconds', '1', '--repeat', '1'] },
  { name: 'schedulers', file: 'schedulers.ts', root: false, args: [], quick: ['--ms', '100'] },
  { name: 'checks', file: 'checks.ts', root: false, args: [], quick: ['--seconds', '5', '--scenario', 'spread'] },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const only = arg('only')?.split(',');
const quick = process.argv.includes('--quick');
const isRoot = process.getuid?.() === 0;
const failed: string[] = [];
for (const b of BENCHES) {
  if (only && !only.includes(b.name)) continue;
  if (b.root && !isRoot) {
    console.log(`\n── ${b.name}: skipped (needs root for network namespaces)`);
    continue;
  }
  const file = fileURLToPath(new URL(`./${b.file}`, import.meta.url));
  const argv = [...(b.node ?? []), '--import', 'tsx', file, ...(quick ? b.quick : b.args)];
  console.log(`\n── ${b.name}: node ${argv.join(' ')}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { stdio: 'inherit' });
  console.log(`── ${b.name}: ${r.status === 0 ? 'done' : `FAILED (${r.status ?? r.signal})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (r.status !== 0) failed.push(b.name);
}
if (failed.length) {
  console.log(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
