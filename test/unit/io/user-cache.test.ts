import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildScriptRunner, UserCache, resolveUser } from '../../../src/io/script-runner.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
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

test('resolveUser: names and numbers, user and group', () => {
  const { read } = counting();
  assert.deepEqual(resolveUser({ user: 'nobody', group: null }, read), { uid: 65534, gid: 65534 });
  assert.deepEqual(resolveUser({ user: 'nobody', group: 'adm' }, read), { uid: 65534, gid: 4 });
  assert.deepEqual(resolveUser({ user: '1234', group: null }, read), { uid: 1234, gid: 1234 });
  assert.equal(resolveUser({ user: 'ghost', group: null }, read), null);
});

test('UserCache reads passwd/group once per user until cleared (a reload clears it)', () => {
  const { reads, read } = counting();
  const c = new UserCache(read);
  for (let i = 0; i < 5; i++) assert.deepEqual(c.resolve({ user: 'nobody', group: 'adm' }), { uid: 65534, gid: 4 });
  assert.deepEqual(reads, ['/etc/passwd', '/etc/group']);
  assert.equal(c.resolve({ user: 'ghost', group: null }), null);
  assert.equal(c.resolve({ user: 'ghost', group: null }), null);
  assert.equal(reads.length, 3, 'an unknown user is cached too');
  c.clear();
  c.resolve({ user: 'nobody', group: 'adm' });
  assert.equal(reads.length, 5);
});

test('ChildScriptRunner.setDefaultUser (start and every reload) forgets cached ids', async () => {
  const { reads, read } = counting();
  const runner = new ChildScriptRunner(null, new UserCache(read));
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
