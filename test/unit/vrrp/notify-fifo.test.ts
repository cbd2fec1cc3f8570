import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeNotifyFifo } from '../../../src/vrrp/notify-fifo.js';

function readAll(fd: number): string {
  const b = Buffer.alloc(4096);
  try {
    const n = readSync(fd, b, 0, b.length, null);
    return b.toString('utf8', 0, n);
  } catch {
    return '';
  }
}

test('prepare() creates a missing FIFO without blocking (mkfifo runs as an async child); lines then arrive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-fifo-'));
  const path = join(dir, 'notify.fifo');
  const f = new NodeNotifyFifo();
  try {
    const p = f.prepare([path]);
    assert.throws(() => statSync(path), 'not created synchronously');
    await p;
    assert.ok(statSync(path).isFIFO());
    assert.equal((statSync(path).mode & 0o777).toString(8), '600');
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    assert.equal(f.write(path, 'INSTANCE "VI_1" MASTER 100\n'), true);
    assert.equal(readAll(reader), 'INSTANCE "VI_1" MASTER 100\n');
    closeSync(reader);
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO removed after start loses the line being written (false, no throw) and is created again in the background', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-fifo-'));
  const path = join(dir, 'notify.fifo');
  const f = new NodeNotifyFifo();
  try {
    await f.prepare([path]);
    unlinkSync(path);
    const started = performance.now();
    assert.equal(f.write(path, 'INSTANCE "VI_1" BACKUP 100\n'), false);
    assert.ok(performance.now() - started < 50, 'write did not wait for mkfifo');
    await f.settled();
    assert.ok(statSync(path).isFIFO());
    assert.equal(f.write(path, 'INSTANCE "VI_1" BACKUP 100\n'), true);
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path in a missing directory is a failed write, never a throw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-fifo-'));
  const f = new NodeNotifyFifo();
  try {
    const bad = join(dir, 'no', 'such', 'fifo');
    await f.prepare([bad]);
    assert.equal(f.write(bad, 'x\n'), false);
    await f.settled();
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
