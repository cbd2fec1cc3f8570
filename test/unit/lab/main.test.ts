/** What `npm run lab` requires before it runs, and before `--down` removes a kept lab. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPrerequisites, type PrerequisiteProbe } from '../../../src/lab/main.js';

const machine = (o: { root?: boolean; commands?: string[]; files?: boolean }): PrerequisiteProbe => ({
  isRoot: () => o.root ?? true,
  works: (cmd) => (o.commands ?? ['ip', 'nft']).includes(cmd),
  exists: () => o.files ?? true,
});

test('running the lab needs root, iproute2, nftables, the compiled code and the addon', () => {
  assert.deepEqual(missingPrerequisites('run', machine({})), []);
  const all = missingPrerequisites('run', machine({ root: false, commands: [], files: false }));
  assert.equal(all.length, 5, all.join('\n'));
  assert.match(all[0]!, /^root: .*sudo npm run lab`/);
  assert.match(all[1]!, /`ip` command \(Debian package iproute2\)/);
  assert.match(all[2]!, /`nft` command/);
  assert.match(all[3]!, /compiled code \(dist\/lab\/real-server\.js, dist\/lab\/http-client\.js, dist\/cli\/lvsd\.js\)/);
  assert.match(all[4]!, /native addon/);
});

test('--down needs only root and iproute2: not dist/, not the addon, not nft', () => {
  assert.deepEqual(missingPrerequisites('down', machine({ commands: ['ip'], files: false })), []);
  const m = missingPrerequisites('down', machine({ root: false, commands: [], files: false }));
  assert.equal(m.length, 2, m.join('\n'));
  assert.match(m[0]!, /removes network namespaces .*sudo npm run lab -- --down`/);
  assert.match(m[1]!, /iproute2/);
});
