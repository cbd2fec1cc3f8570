import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv6FrameInput } from '../../../src/io/vrrp-socket.js';
import { encodeAdvert } from '../../../src/vrrp/packet.js';
import { parseIPv6 } from '../../../src/lib/ip.js';

/** An Ethernet frame carrying an IPv6 packet with `next` as next header and `payload`. */
function frame(next: number, payload: Uint8Array, src = 'fe80::1', dst = 'ff02::12'): Uint8Array {
  const f = new Uint8Array(14 + 40 + payload.length);
  f.set([0x33, 0x33, 0, 0, 0, 0x12, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]);
  f[14] = 0x60;
  new DataView(f.buffer).setUint16(14 + 4, payload.length);
  f[14 + 6] = next;
  f[14 + 7] = 255;
  f.set(parseIPv6(src)!, 14 + 8);
  f.set(parseIPv6(dst)!, 14 + 24);
  f.set(payload, 54);
  return f;
}

const vrrp = encodeAdvert({ version: 3, family: 'ipv6', vrid: 5, priority: 100, advertIntervalMs: 1000, addresses: ['fe80::5'], src: 'fe80::1', dst: 'ff02::12' });

test('IPv6 frames: a VRRP advert parses, other IPv6 traffic is not ours', () => {
  const r = ipv6FrameInput(frame(112, vrrp));
  assert.ok(r && r.ok);
  assert.equal(r.value.src, 'fe80::1');
  assert.equal(r.value.ttl, 255);
  assert.equal(ipv6FrameInput(frame(58, vrrp)), null, 'ICMPv6 is ignored, not counted');
});

test('IPv6 short frames are reported as truncated (counted by the manager), never dropped silently', () => {
  const full = frame(112, vrrp);
  // IPv6 header cut short, next header visible and 112
  const cut = ipv6FrameInput(full.subarray(0, 14 + 30));
  assert.ok(cut && !cut.ok);
  assert.equal(cut.reason, 'truncated');
  assert.equal(cut.source, 'fe80::1');
  // payload shorter than the payload length says
  const short = ipv6FrameInput(full.subarray(0, 14 + 40 + 4));
  assert.ok(short && !short.ok);
  assert.equal(short.reason, 'truncated');
  // too short to hold even the next-header byte
  const tiny = ipv6FrameInput(full.subarray(0, 18));
  assert.ok(tiny && !tiny.ok);
  assert.equal(tiny.reason, 'truncated');
  assert.equal(tiny.source, undefined);
});

test('an IPv6 frame with another IP version in its header is a bad_ip_header', () => {
  const f = frame(112, vrrp);
  f[14] = 0x40;
  const r = ipv6FrameInput(f);
  assert.ok(r && !r.ok);
  assert.equal(r.reason, 'bad_ip_header');
});
