/**
 * The VRRP keywords whose meaning the compiler resolves as keepalived does
 * (vrrp.c vrrp_complete_instance, vrrp_parser.c): checksum forms, lower_prio_no_advert and
 * higher_prio_send_advert with their global defaults and strict mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, type LoadResult } from '../../../src/config/load.js';
import { machineConfigOf } from '../../../src/vrrp/instance.js';

function load(text: string): LoadResult {
  return loadConfigText(text, 'c.conf', 'keepalived', { hostname: 'h', configId: 'h' });
}
function ok(r: LoadResult) {
  assert.ok(r.ok, `did not load: ${(r.ok ? [] : r.diagnostics).map((d) => d.message).join(' | ')}`);
  return r;
}
const inst = (body: string, name = 'VI_1', vrid = 51) =>
  `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id ${vrid}\n    version 3\n${body}\n    virtual_ipaddress {\n        198.18.0.${10 + vrid}/24\n    }\n}\n`;

test('old_unicast_checksum and v3_checksum_as_v2 are two settings: the pseudo-header destination, and no pseudo-header', () => {
  const r = ok(load(inst('    old_unicast_checksum', 'A', 1) + inst('    old_unicast_checksum never', 'B', 2) + inst('    v3_checksum_as_v2', 'C', 3) + inst('', 'D', 4)));
  const m = r.model;
  assert.deepEqual(['A', 'B', 'C', 'D'].map((n) => [m.instances[n]!.unicastChecksum, m.instances[n]!.v3ChecksumAsV2]), [
    ['old', false], ['never', false], ['auto', true], ['auto', false],
  ]);
});

test('v3_checksum_as_v2 in global_defs is every instance\'s default; an instance can turn it off', () => {
  const m = ok(load('global_defs {\n    v3_checksum_as_v2\n}\n' + inst('', 'A', 1) + inst('    v3_checksum_as_v2 off', 'B', 2))).model;
  assert.equal(m.instances.A!.v3ChecksumAsV2, true);
  assert.equal(m.instances.B!.v3ChecksumAsV2, false);
});

test('lower_prio_no_advert / higher_prio_send_advert: off by default, global defaults, instance wins', () => {
  const m = ok(load('global_defs {\n    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert\n}\n'
    + inst('', 'A', 1) + inst('    lower_prio_no_advert off\n    higher_prio_send_advert off', 'B', 2))).model;
  assert.deepEqual([m.instances.A!.lowerPrioNoAdvert, m.instances.A!.higherPrioSendAdvert], [true, true]);
  assert.deepEqual([m.instances.B!.lowerPrioNoAdvert, m.instances.B!.higherPrioSendAdvert], [false, false]);
  const d = ok(load(inst('', 'A', 1))).model.instances.A!;
  assert.deepEqual([d.lowerPrioNoAdvert, d.higherPrioSendAdvert], [false, false]);
});

test('strict mode forces lower_prio_no_advert on and higher_prio_send_advert off, with a warning at the value when set otherwise', () => {
  const r = ok(load('global_defs {\n    vrrp_higher_prio_send_advert\n}\n' + inst('    strict_mode\n    lower_prio_no_advert off\n    higher_prio_send_advert on', 'A', 1) + inst('    strict_mode', 'B', 2)));
  const a = r.model.instances.A!;
  const b = r.model.instances.B!;
  assert.deepEqual([a.lowerPrioNoAdvert, a.higherPrioSendAdvert], [true, false]);
  assert.deepEqual([b.lowerPrioNoAdvert, b.higherPrioSendAdvert], [true, false], 'defaults under strict mode: on, and off whatever the global says');
  const w = r.warnings.filter((x) => /strict mode requires/.test(x.message));
  assert.deepEqual(w.map((x) => `${x.pos?.line}:${x.pos?.col} ${x.code}`), ['9:26 WARN_CONFIG_ADJUSTED', '10:29 WARN_CONFIG_ADJUSTED']);
});

test('the machine gets lower_prio_no_advert and higher_prio_send_advert from the model (not from strict mode alone)', () => {
  const m = ok(load('global_defs {\n    vrrp_lower_prio_no_advert\n}\n' + inst('    higher_prio_send_advert', 'A', 1))).model;
  const c = machineConfigOf(m.instances.A!);
  assert.equal(m.instances.A!.strictMode, false);
  assert.deepEqual([c.lowerPrioNoAdvert, c.higherPrioSendAdvert], [true, true]);
});
