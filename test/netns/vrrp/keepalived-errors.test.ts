/**
 * The "keepalived logged no packet error" check must know every receive error keepalived
 * 2.2.x logs. The format strings below are the ones in Debian's keepalived 2.2.7 binary
 * (`strings /usr/sbin/keepalived`), filled in as keepalived fills them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEEPALIVED_RX_ERRORS } from './lib/lab.js';

const REFUSALS = [
  '(VI_1) vrrp packet too short, length 40 and expect 44',
  '(VI_1) invalid TTL/HL. Received 64 and expect 255',
  '(VI_1) wrong version. Received 3 and expect 2',
  '(VI_1) Invalid auth type: 7',
  '(VI_1) received a 0 auth, expecting 1!',
  '(VI_1) received an invalid passwd!',
  '(VI_1) Received AH header but auth type not AH',
  '(VI_1) No AH header but auth type is AH',
  '(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !',
  "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec",
  '(VI_1) Invalid packet type. 2 and expect 1',
  '(VI_1) received an unexpected ip number count 2, expected 1!',
  '(VI_1) ip_tot_len mismatch against received length. 60 and received 44',
  '(VI_1) Invalid VRRPv3 checksum',
  '(VI_1) Invalid VRRPv2 checksum',
  '(VI_1) Expected unicast packet but received multicast packet',
  '(VI_1) expected 1 VIPs but received 2',
  '(VI_1) ip address associated with VRID 51 not present in MASTER advert: 198.18.10.100',
  '(VI_1) unicast source address 198.18.10.9 not a unicast peer',
  '(VI_1) TTL/HL 64 not in range 250 - 255',
  'IPv4 VRRP packet too short - 20 bytes',
  'IPv6 VRRP packet too short - 4 bytes',
  'Unknown VRID(52) received on interface(eth0). ignoring...',
  'Discarding bogus packet from 198.18.10.9',
];

const NOT_ERRORS = [
  '(VI_1) Entering MASTER STATE',
  '(VI_1) Setting unicast VRRPv3 checksum to old version',
  '(VI_1) advertisement interval updated from 1000ms to 200ms by master',
  '(VI_1) Received advert from 198.18.10.2 with lower priority 50, ours 100, forcing new election',
];

test('every keepalived 2.2.7 receive error is matched; ordinary lines are not', () => {
  for (const l of REFUSALS) assert.match(l, KEEPALIVED_RX_ERRORS, l);
  for (const l of NOT_ERRORS) assert.doesNotMatch(l, KEEPALIVED_RX_ERRORS, l);
});
