import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, formatIPv6, ipFamily, maskToPrefix4, parseIPv4, parseIPv6, sameSubnet } from '../../../src/lib/ip.js';

test('IPv4 parse/format and masks', () => {
  assert.equal(parseIPv4('198.18.0.1'), 0xc6120001);
  assert.equal(parseIPv4('198.18.0.256'), null);
  assert.equal(parseIPv4('1.2.3'), null);
  assert.equal(maskToPrefix4(parseIPv4('255.255.255.0')!), 24);
  assert.equal(maskToPrefix4(parseIPv4('255.0.255.0')!), null);
  assert.ok(sameSubnet('198.18.1.7', '198.18.1.254', 24));
  assert.ok(!sameSubnet('198.18.1.7', '198.18.2.254', 24));
});

test('IPv6 parse/format is canonical (RFC 5952)', () => {
  assert.equal(canonicalIp('FE80:0:0:0:0:0:0:1'), 'fe80::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(formatIPv6(parseIPv6('::ffff:198.18.0.1')!), '::ffff:c612:1');
  assert.equal(parseIPv6('1::2::3'), null);
  assert.equal(ipFamily('ff02::12'), 'ipv6');
  assert.equal(ipFamily('nonsense'), null);
});
