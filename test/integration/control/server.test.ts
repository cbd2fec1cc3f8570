import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { EventBus } from '../../../src/events/bus.js';
import { CommandRegistry, ControlError, argString } from '../../../src/control/registry.js';
import { ControlServer, MAX_REQUEST_BYTES } from '../../../src/control/server.js';
import { ControlClient, ControlCommandError } from '../../../src/control/client.js';

async function withServer(fn: (path: string, bus: EventBus) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-ctl-'));
  const path = join(dir, 'sub', 'lvsd.sock');
  const bus = new EventBus();
  const registry = new CommandRegistry();
  registry.register('echo', { describe: 'echo', handler: (a) => ({ said: argString(a, 'text', true) }) });
  registry.register('boom', { describe: 'throws', handler: () => { throw new Error('kaput'); } });
  registry.register('refuse', { describe: 'refuses', handler: () => { throw new ControlError('ERR_X_NOPE', 'no'); } });
  const server = new ControlServer({ path, registry, bus });
  await server.listen();
  try {
    await fn(path, bus);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('control socket is mode 0600 and answers commands with results and coded errors', async () => {
  await withServer(async (path) => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const c = await ControlClient.connect(path);
    try {
      assert.deepEqual(await c.request('echo', { text: 'hi' }), { said: 'hi' });
      await assert.rejects(c.request('echo', {}), (e: ControlCommandError) => e.code === 'ERR_CONTROL_BAD_ARGS');
      await assert.rejects(c.request('echo', { text: 5 }), (e: ControlCommandError) => e.code === 'ERR_CONTROL_BAD_ARGS');
      await assert.rejects(c.request('nope'), (e: ControlCommandError) => e.code === 'ERR_CONTROL_UNKNOWN_COMMAND' && e.message.includes('echo'));
      await assert.rejects(c.request('boom'), (e: ControlCommandError) => e.code === 'ERR_CONTROL_INTERNAL' && e.message === 'kaput');
      await assert.rejects(c.request('refuse'), (e: ControlCommandError) => e.code === 'ERR_X_NOPE');
      // still alive after all that
      assert.deepEqual(await c.request('echo', { text: 'again' }), { said: 'again' });
    } finally {
      c.close();
    }
  });
});

test('malformed and oversized requests get coded errors and the daemon keeps serving', async () => {
  await withServer(async (path) => {
    const c = await ControlClient.connect(path);
    try {
      assert.deepEqual((await c.raw('{not json')).error, { code: 'ERR_CONTROL_PARSE', message: 'request is not valid JSON' });
      assert.equal(((await c.raw('[1,2]')).error as { code: string }).code, 'ERR_CONTROL_BAD_REQUEST');
      assert.equal(((await c.raw('{"id":7,"cmd":"echo","args":[1]}')).error as { code: string }).code, 'ERR_CONTROL_BAD_ARGS');
    } finally {
      c.close();
    }
    // An endless line without newline: the server answers TOO_LARGE and hangs up.
    const answer = await new Promise<string>((resolve) => {
      const s = connect(path);
      let got = '';
      s.on('data', (d) => { got += d.toString(); });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      s.write('x'.repeat(MAX_REQUEST_BYTES + 10));
    });
    assert.match(answer, /ERR_CONTROL_TOO_LARGE/);
    const c2 = await ControlClient.connect(path);
    assert.deepEqual(await c2.request('echo', { text: 'alive' }), { said: 'alive' });
    c2.close();
  });
});

test('watch streams events as snake_case fields', async () => {
  await withServer(async (path, bus) => {
    const c = await ControlClient.connect(path);
    const got: Record<string, unknown>[] = [];
    await c.watch((ev) => got.push(ev));
    bus.emit({ type: 'vrrp.transition', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, masterAddress: '198.18.0.2' });
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    c.close();
    assert.deepEqual(got[0], { event: 'vrrp.transition', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master_down_timer', priority: 100, master_address: '198.18.0.2' });
  });
});

test('a second server refuses a live socket path', async () => {
  await withServer(async (path, bus) => {
    const other = new ControlServer({ path, registry: new CommandRegistry(), bus });
    await assert.rejects(other.listen(), (e: { code: string }) => e.code === 'ERR_CONTROL_IN_USE');
  });
});
