import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARP_FRAME_LEN, NA_FRAME_LEN, icmp6Checksum, writeArp, writeGarp, writeUnsolicitedNa, ARPOP_REPLY } from '../../../src/io/frames.js';
import { parseIPv4, parseIPv6 } from '../../../src/lib/ip.js';
import { parseMac } from '../../../src/lib/mac.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const clean = (s: string) => s.replace(/\s+/g, '');
const mac = parseMac('52:54:00:12:34:56')!;

/** A naive reference: RFC 1071 over an explicit pseudo-header buffer. */
function naiveIcmp6Checksum(frame: Uint8Array): number {
  const ip = frame.subarray(14);
  const len = (ip[4]! << 8) | ip[5]!;
  const ph = new Uint8Array(40 + len + (len & 1));
  ph.set(ip.subarray(8, 40), 0);
  ph[32] = (len >>> 24) & 255; ph[33] = (len >>> 16) & 255; ph[34] = (len >>> 8) & 255; ph[35] = len & 255;
  ph[39] = 58;
  ph.set(ip.subarray(40, 40 + len), 40);
  ph[42] = 0; ph[43] = 0; // zero the checksum field
  let s = 0;
  for (let i = 0; i < ph.length; i += 2) s += (ph[i]! << 8) | ph[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

test('gratuitous ARP: keepalived form (broadcast request, sender = target = VIP, tha ff..ff), hand-checked hex', () => {
  const b = new Uint8Array(64);
  const n = writeGarp(b, 3, mac, parseIPv4('198.18.0.10')!);
  assert.equal(n, ARP_FRAME_LEN);
  assert.equal(hex(b.subarray(3, 3 + n)), clean(`
    ffffffffffff 525400123456 0806
    0001 0800 06 04 0001
    525400123456 c612000a
    ffffffffffff c612000a`));
  assert.equal(b[2], 0);
  assert.equal(b[3 + n], 0, 'writes nothing past the frame');
});

test('ARP reply: unicast, op 2, addresses in place', () => {
  const b = new Uint8Array(ARP_FRAME_LEN);
  const peer = parseMac('02:00:00:00:00:02')!;
  writeArp(b, 0, ARPOP_REPLY, peer, mac, parseIPv4('198.18.0.10')!, peer, parseIPv4('198.18.0.2')!);
  assert.equal(hex(b), clean(`020000000002 525400123456 0806 0001 0800 0604 0002 525400123456 c612000a 020000000002 c6120002`));
});

test('unsolicited NA: ff02::1, hop limit 255, override, TLL option, checksum (hand-checked hex and naive oracle)', () => {
  const b = new Uint8Array(NA_FRAME_LEN);
  const n = writeUnsolicitedNa(b, 0, mac, parseIPv6('2001:db8::10')!, false);
  assert.equal(n, NA_FRAME_LEN);
  assert.equal(hex(b), clean(`
    333300000001 525400123456 86dd
    60000000 0020 3a ff
    20010db8000000000000000000000010
    ff020000000000000000000000000001
    88 00 7451 20000000
    20010db8000000000000000000000010
    02 01 525400123456`));
  assert.equal(naiveIcmp6Checksum(b), 0x7451);
  const r = new Uint8Array(NA_FRAME_LEN);
  writeUnsolicitedNa(r, 0, mac, parseIPv6('2001:db8::10')!, true);
  assert.equal(r[14 + 40 + 4], 0xa0, 'router + override');
  assert.equal((r[56]! << 8) | r[57]!, naiveIcmp6Checksum(r));
});

test('icmp6Checksum matches the naive oracle over many addresses and MACs', () => {
  const b = new Uint8Array(NA_FRAME_LEN);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let k = 0; k < 500; k++) {
    const ip = new Uint8Array(16).map(rnd);
    const m = new Uint8Array(6).map(rnd);
    writeUnsolicitedNa(b, 0, m, ip, (k & 1) === 1);
    const got = (b[56]! << 8) | b[57]!;
    assert.equal(got, naiveIcmp6Checksum(b), `case ${k}`);
    b[56] = 0; b[57] = 0;
    assert.equal(icmp6Checksum(b, 14), got);
  }
});
