/**
 * `lvsadm vrrp [INSTANCE]` end to end over a control socket: the whole status, one
 * instance, an unknown instance (ERR_VRRP_NO_INSTANCE, exit 1) and bad usage (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/lib/clock.js';
import { EventBus } from '../../../src/events/bus.js';
import { ControlServer } from '../../../src/control/server.js';
import { lvsadmMain, parseLvsadmArgs } from '../../../src/cli/lvsadm.js';
import { MemoryWire } from '../../../src/vrrp/memory-transport.js';
import { instance, model, vip } from './lib/fixtures.js';
import { director, run } from './lib/director.js';

async function lvsadm(argv: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const rc = await lvsadmMain(argv, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { rc, out, err };
}

test('lvsadm vrrp takes an optional instance name; more is a usage error', () => {
  assert.deepEqual(parseLvsadmArgs(['vrrp'], {}).args, {});
  assert.deepEqual(parseLvsadmArgs(['vrrp', 'VI_2'], {}).args, { instance: 'VI_2' });
  assert.throws(() => parseLvsadmArgs(['vrrp', 'a', 'b'], {}), { code: 'ERR_LVSADM_USAGE' });
});

test('lvsadm vrrp [INSTANCE] over the control socket: all, one, unknown (coded error, exit 1)', async () => {
  const clock = new ManualClock(0);
  const wire = new MemoryWire(clock);
  const a = await director('A', '198.18.0.1', wire, clock);
  await a.sub.start(model({ instances: [instance('VI_1'), instance('VI_2', { vrid: 52, vips: [vip('198.18.0.200/24')] })] }));
  await run(clock, 100);
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-vrrp-ctl-'));
  const path = join(dir, 'lvsd.sock');
  const server = new ControlServer({ path, registry: a.registry, bus: new EventBus() });
  await server.listen();
  try {
    const all = await lvsadm(['--control', path, 'vrrp']);
    assert.equal(all.rc, 0, all.err);
    assert.match(all.out, /VI_1/);
    assert.match(all.out, /VI_2/);
    const one = await lvsadm(['--control', path, '--json', 'vrrp', 'VI_2']);
    assert.equal(one.rc, 0, one.err);
    assert.deepEqual((JSON.parse(one.out) as { instances: Array<{ name: string }> }).instances.map((i) => i.name), ['VI_2']);
    const unknown = await lvsadm(['--control', path, 'vrrp', 'VI_9']);
    assert.equal(unknown.rc, 1);
    assert.match(unknown.err, /ERR_VRRP_NO_INSTANCE/);
    const usage = await lvsadm(['--control', path, 'vrrp', 'VI_1', 'VI_2']);
    assert.equal(usage.rc, 2);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    await a.sub.stop('t');
  }
});
