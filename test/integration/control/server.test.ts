import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { EventBus } from '../../../src/events/bus.js';
import { CommandRegistry, ControlError, argString } from '../../../src/control/registry.js';
import { ControlServer, MAX_CLIENTS, MAX_REQUEST_BYTES } from '../../../src/control/server.js';
import { ControlClient, ControlCommandError } from '../../../src/control/client.js';

async function withServer(fn: (path: string, bus: EventBus) => Promise<void>, opts: { idleTimeoutMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-ctl-'));
  const path = join(dir, 'sub', 'lvsd.sock');
  const bus = new EventBus();
  const registry = new CommandRegistry();
  registry.register('echo', { describe: 'echo', handler: (a) => ({ said: argString(a, 'text', true) }) });
  registry.register('boom', { describe: 'throws', handler: () => { throw new Error('kaput'); } });
  registry.register('refuse', { describe: 'refuses', handler: () => { throw new ControlError('ERR_X_NOPE', 'no'); } });
  registry.register('slow', { describe: 'answers after ms', handler: async (a) => { await new Promise((r) => setTimeout(r, Number(argString(a, 'ms', true)))); return 'done'; } });
  const server = new ControlServer({ path, registry, bus, ...opts });
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

/** Connects a raw socket and collects everything the server sends until it closes. */
function rawClient(path: string): { sock: Socket; text: () => string; closed: Promise<string> } {
  const sock = connect(path);
  let got = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => { got += d; });
  const closed = new Promise<string>((resolve) => {
    sock.on('close', () => resolve(got));
    sock.on('error', () => { /* reset after our end */ });
  });
  return { sock, text: () => got, closed };
}

test('an oversized line that ends in a newline is answered ERR_CONTROL_TOO_LARGE, the rest of it is not run, and the server hangs up', async () => {
  await withServer(async (path) => {
    const c = rawClient(path);
    await new Promise<void>((r) => c.sock.once('connect', () => r()));
    // A well-formed JSON request, just too long, then a newline and a valid request.
    const big = JSON.stringify({ id: 1, cmd: 'echo', args: { text: 'y'.repeat(MAX_REQUEST_BYTES) } });
    c.sock.write(big + '\n' + JSON.stringify({ id: 2, cmd: 'echo', args: { text: 'after' } }) + '\n');
    const answer = await c.closed;
    const lines = answer.trim().split('\n').map((l) => JSON.parse(l) as { id: unknown; ok: boolean; error?: { code: string } });
    assert.equal(lines.length, 1, answer);
    assert.equal(lines[0]!.ok, false);
    assert.equal(lines[0]!.error!.code, 'ERR_CONTROL_TOO_LARGE');
    // A line of exactly the limit is still served.
    const c2 = await ControlClient.connect(path);
    const pad = MAX_REQUEST_BYTES - JSON.stringify({ id: 1, cmd: 'echo', args: { text: '' } }).length;
    assert.deepEqual(await c2.request('echo', { text: 'z'.repeat(pad) }), { said: 'z'.repeat(pad) });
    c2.close();
  });
});

test(`the client past ${MAX_CLIENTS} gets ERR_CONTROL_BUSY as a line, not a bare reset; a slot frees when a client leaves`, async () => {
  await withServer(async (path) => {
    const held: ControlClient[] = [];
    try {
      for (let i = 0; i < MAX_CLIENTS; i++) held.push(await ControlClient.connect(path));
      // every held connection is served
      assert.deepEqual(await held[MAX_CLIENTS - 1]!.request('echo', { text: 'last' }), { said: 'last' });
      const extra = rawClient(path);
      const answer = await extra.closed;
      assert.deepEqual(JSON.parse(answer.trim()), {
        id: null, ok: false, error: { code: 'ERR_CONTROL_BUSY', message: `too many control connections (${MAX_CLIENTS}); try again` },
      });
      // lvsadm's client reports the server's reason, not "connection closed"
      const refused = await ControlClient.connect(path);
      await assert.rejects(refused.request('echo', { text: 'x' }), (e: ControlCommandError) => e.code === 'ERR_CONTROL_BUSY');
      refused.close();
      held.shift()!.close();
      // the server notices the close on its next turn
      let served: unknown = null;
      for (let i = 0; i < 50 && served === null; i++) {
        await new Promise((r) => setTimeout(r, 10));
        const c = await ControlClient.connect(path);
        try {
          served = await c.request('echo', { text: 'room' }, 1000).catch(() => null);
        } finally {
          c.close();
        }
      }
      assert.deepEqual(served, { said: 'room' });
    } finally {
      for (const c of held) c.close();
    }
  });
});

test('an idle connection is closed with ERR_CONTROL_IDLE; a request in progress and a watch are not idle', async () => {
  await withServer(async (path) => {
    const idle = rawClient(path);
    const t0 = Date.now();
    const answer = await idle.closed;
    assert.ok(Date.now() - t0 >= 140, `closed after ${Date.now() - t0} ms`);
    assert.equal((JSON.parse(answer.trim()) as { error: { code: string } }).error.code, 'ERR_CONTROL_IDLE');

    // A request that runs longer than the idle timeout is answered.
    const busy = await ControlClient.connect(path);
    assert.equal(await busy.request('slow', { ms: '400' }), 'done');
    busy.close();

    // A watcher stays connected well past the timeout and still gets events.
    const w = await ControlClient.connect(path);
    const got: Record<string, unknown>[] = [];
    await w.watch((ev) => got.push(ev));
    await new Promise((r) => setTimeout(r, 450));
    assert.deepEqual(await w.request('echo', { text: 'still here' }), { said: 'still here' });
    w.close();
  }, { idleTimeoutMs: 150 });
});

test('a control socket that cannot listen is ERR_CONTROL_LISTEN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-ctl-'));
  try {
    writeFileSync(join(dir, 'file'), '');
    const server = new ControlServer({ path: join(dir, 'file', 'lvsd.sock'), registry: new CommandRegistry(), bus: new EventBus() });
    await assert.rejects(server.listen(), (e: { code: string; message: string }) => e.code === 'ERR_CONTROL_LISTEN' && /ENOTDIR|EEXIST/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
