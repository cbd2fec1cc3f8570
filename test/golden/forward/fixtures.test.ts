/**
 * Runs every packet-in / packet-out fixture of test/golden/forward/*.json through the
 * pipeline (fixtures are written by gen-fixtures.ts from the naive builder) and checks every
 * output frame's checksums from scratch as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { A_DROP, A_IGNORE, A_TX, A_TX_MULTI } from '../../../src/forward/pipeline.js';
import { hex, unhex, verifyFrame, verifyFrameDeep } from '../../unit/forward/lib/frames.js';
import { Runner, standardPipeline, tunPipeline } from '../../unit/forward/lib/topo.js';

interface Step { desc: string; if: number; now?: number; vnet?: boolean; in: string; expect: 'drop' | 'ignore' | { if: number; out?: string; outs?: string[] } }
interface Fixture { description: string; setup: 'standard' | 'standard-vnet' | 'tun' | 'tun-vnet'; steps: Step[] }

const dir = new URL('.', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('fixture files exist', () => {
  assert.ok(files.length >= 7, files.join(','));
});

for (const file of files) {
  const fx = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Fixture;
  test(`${file}: ${fx.description}`, async (t) => {
    const tunSetup = fx.setup === 'tun' || fx.setup === 'tun-vnet';
    const pl = tunSetup ? tunPipeline({ vnet: fx.setup === 'tun-vnet' }) : standardPipeline(undefined, { vnet: fx.setup === 'standard-vnet' }).pl;
    const run = new Runner(pl);
    for (const s of fx.steps) {
      await t.test(s.desc, () => {
        const r = run.run(unhex(s.in), s.if, s.now ?? 1, s.vnet ?? false);
        if (s.expect === 'drop') assert.equal(r.action, A_DROP);
        else if (s.expect === 'ignore') assert.equal(r.action, A_IGNORE);
        else if (s.expect.outs) {
          assert.equal(r.action, A_TX_MULTI, 'expected frames out');
          assert.equal(r.outIf, s.expect.if, 'egress interface');
          assert.deepEqual(r.outs.map((o) => hex(o)), s.expect.outs);
          for (const o of r.outs) assert.deepEqual(verifyFrameDeep(o, s.vnet ?? false), []);
        } else {
          assert.equal(r.action, A_TX, 'expected a frame out');
          assert.equal(r.outIf, s.expect.if, 'egress interface');
          assert.equal(hex(r.out!), s.expect.out);
          assert.deepEqual(tunSetup ? verifyFrameDeep(r.out!, s.vnet ?? false) : verifyFrame(r.out!, s.vnet ?? false), []);
        }
      });
    }
  });
}
