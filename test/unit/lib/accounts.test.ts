import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildScriptRunner } from '../../../src/io/script-runner.js';
import { Accounts } from '../../../src/lib/accounts.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nweb:x:1500:33::/srv:/bin/sh\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\nadm:x:4:\n';

function counting() {
  const reads: string[] = [];
  const read = (f: string) => {
    reads.push(f);
    if (f === '/etc/passwd') return PASSWD;
    if (f === '/etc/group') return GROUP;
    throw new Error('ENOENT');
  };
  return { reads, read };
}

test('Accounts: names and numbers, user and group, as getpwnam/getgrnam (numbers an lvsd extension)', () => {
  const a = new Accounts(counting().read);
  assert.deepEqual(a.resolve({ user: 'nobody', group: null }), { uid: 65534, gid: 65534 });
  assert.deepEqual(a.resolve({ user: 'nobody', group: 'adm' }), { uid: 65534, gid: 4 });
  assert.deepEqual(a.resolve({ user: 'web', group: null }), { uid: 1500, gid: 33 }, 'the primary group is the passwd entry\'s');
  assert.deepEqual(a.resolve({ user: '1500', group: null }), { uid: 1500, gid: 33 }, 'a numeric uid with an entry: that entry\'s group');
  assert.deepEqual(a.resolve({ user: '1234', group: null }), { uid: 1234, gid: 1234 }, 'a numeric uid without one: the same number');
  assert.deepEqual(a.resolve({ user: '1234', group: '77' }), { uid: 1234, gid: 77 });
  assert.equal(a.resolve({ user: 'ghost', group: null }), null);
  assert.equal(a.resolve({ user: 'nobody', group: 'ghosts' }), null);
  assert.equal(a.group('adm'), 4);
  assert.equal(new Accounts(() => { throw new Error('EACCES'); }).user('root'), null, 'unreadable passwd names nobody');
});

test('Accounts reads passwd and group once until cleared (a reload clears it)', () => {
  const { reads, read } = counting();
  const a = new Accounts(read);
  for (let i = 0; i < 5; i++) assert.deepEqual(a.resolve({ user: 'nobody', group: 'adm' }), { uid: 65534, gid: 4 });
  assert.deepEqual(reads, ['/etc/passwd', '/etc/group']);
  assert.equal(a.resolve({ user: 'ghost', group: null }), null);
  assert.equal(reads.length, 2, 'an unknown user needs no new read');
  a.clear();
  a.resolve({ user: 'nobody', group: 'adm' });
  assert.equal(reads.length, 4);
});

test('ChildScriptRunner.setDefaultUser (start and every reload) forgets what was read', async () => {
  const { reads, read } = counting();
  const runner = new ChildScriptRunner(null, new Accounts(read));
  const cmd = { line: '/bin/true', argv: ['/bin/true'] };
  // running as another user needs root; the lookup happens either way, before the spawn
  const opts = { timeoutMs: 2000, user: { user: 'ghost', group: null } };
  assert.match((await runner.run(cmd, opts)).spawnError ?? '', /unknown user ghost/);
  await runner.run(cmd, opts);
  assert.equal(reads.length, 1);
  runner.setDefaultUser(null);
  await runner.run(cmd, opts);
  assert.equal(reads.length, 2);
});
