/** sorry_server_inhibit: the sorry server stays listed at weight 0 while not in use (keepalived ipwrapper.c). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sorryListing } from '../../../src/forward/subsystem.js';
import type { VirtualServer } from '../../../src/model/types.js';

const vs = (sorry: VirtualServer['sorryServer']) => ({ sorryServer: sorry }) as VirtualServer;
const ss = (inhibit: boolean) => ({ address: '198.18.2.99', port: 80, method: 'NAT' as const, inhibit });

test('the sorry server is listed in service while the quorum is lost, at weight 0 with sorry_server_inhibit otherwise', () => {
  assert.deepEqual(sorryListing(vs(ss(false)), false), { weight: 1, inService: true });
  assert.deepEqual(sorryListing(vs(ss(true)), false), { weight: 1, inService: true });
  assert.equal(sorryListing(vs(ss(false)), true), null, 'without inhibit it leaves the table');
  assert.deepEqual(sorryListing(vs(ss(true)), true), { weight: 0, inService: false }, 'with inhibit it stays at weight 0');
  assert.equal(sorryListing(vs(null), false), null);
});
