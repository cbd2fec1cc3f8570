import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum, csumReplace16, csumReplace32, l4Replace16, l4Replace32, udpFix } from '../../../src/forward/checksum.js';
import { ipPacket, naiveChecksum, verifyFrame } from './lib/frames.js';

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

test('full checksum equals the naive oracle', () => {
  const r = rng(7);
  for (let n = 0; n < 500; n++) {
    const len = Math.floor(r() * 300);
    const bytes = Array.from({ length: len }, () => Math.floor(r() * 256));
    const init = Math.floor(r() * 0x3ffff);
    assert.equal(checksum(Uint8Array.from(bytes), 0, len, init), naiveChecksum(bytes, init));
  }
});

test('RFC 1624 word updates match a recomputation (including 0x0000/0xffff edges)', () => {
  const r = rng(11);
  for (let n = 0; n < 5000; n++) {
    const words = Array.from({ length: 10 }, () => Math.floor(r() * 65536));
    if (n % 50 === 0) words.fill(0); // all-zero data: the -0 edge case of RFC 1624 §3
    const bytes = words.flatMap((w) => [w >>> 8, w & 255]);
    const c0 = naiveChecksum(bytes);
    const i = Math.floor(r() * 9);
    const nw = n % 7 === 0 ? 0 : Math.floor(r() * 65536);
    const c16 = csumReplace16(c0, words[i]!, nw);
    const w2 = [...words]; w2[i] = nw;
    const expect16 = naiveChecksum(w2.flatMap((w) => [w >>> 8, w & 255]));
    // One's complement has two zeros; a checksum field of 0x0000 and 0xffff verify alike.
    assert.ok(c16 === expect16 || (c16 ^ expect16) === 0xffff && (c16 === 0 || c16 === 0xffff), `16: ${c16} vs ${expect16}`);
    const old32 = ((words[i]! << 16) | words[i + 1]!) >>> 0;
    const new32 = Math.floor(r() * 4294967296) >>> 0;
    const c32 = csumReplace32(c0, old32, new32);
    const w3 = [...words]; w3[i] = new32 >>> 16; w3[i + 1] = new32 & 0xffff;
    const expect32 = naiveChecksum(w3.flatMap((w) => [w >>> 8, w & 255]));
    assert.ok(c32 === expect32 || (c32 === 0 || c32 === 0xffff) && (expect32 === 0 || expect32 === 0xffff), `32: ${c32} vs ${expect32}`);
  }
});

function setAddr4(p: number[], off: number, v: number): void {
  p[off] = v >>> 24; p[off + 1] = (v >>> 16) & 255; p[off + 2] = (v >>> 8) & 255; p[off + 3] = v & 255;
}
function getU32(p: number[], off: number): number {
  return ((p[off]! << 24) | (p[off + 1]! << 16) | (p[off + 2]! << 8) | p[off + 3]!) >>> 0;
}

test('NAT rewrite of random IPv4 TCP/UDP packets, full and partial, matches a full recomputation', () => {
  const r = rng(99);
  for (let n = 0; n < 2000; n++) {
    const tcp = r() < 0.5;
    const partial = r() < 0.5;
    const payload = Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256));
    const a = () => `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
    const pkt = ipPacket({
      src: a(), dst: a(), l4: { proto: tcp ? 'tcp' : 'udp', sport: Math.floor(r() * 65536), dport: Math.floor(r() * 65536), flags: 'A', seq: Math.floor(r() * 1e9), payload, partial },
    });
    const newDst = (0xc6120000 | Math.floor(r() * 0x1ffff)) >>> 0;
    const newPort = Math.floor(r() * 65536);
    const oldDst = getU32(pkt, 16);
    const l4 = 20;
    const co = l4 + (tcp ? 16 : 6);
    const oldPort = (pkt[l4 + 2]! << 8) | pkt[l4 + 3]!;
    // IPv4 header checksum
    const ipc = csumReplace32((pkt[10]! << 8) | pkt[11]!, oldDst, newDst);
    pkt[10] = ipc >>> 8; pkt[11] = ipc & 255;
    setAddr4(pkt, 16, newDst);
    // L4
    let c = (pkt[co]! << 8) | pkt[co + 1]!;
    c = l4Replace32(c, oldDst, newDst, partial);
    c = l4Replace16(c, oldPort, newPort, partial);
    if (!tcp && !partial) c = udpFix(c);
    pkt[co] = c >>> 8; pkt[co + 1] = c & 255;
    pkt[l4 + 2] = newPort >>> 8; pkt[l4 + 3] = newPort & 255;
    const f = Uint8Array.from([...(partial ? [1, 0, 0, 0, 0, 0, 34, 0, tcp ? 16 : 6, 0] : []),
      0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 8, 0, ...pkt]);
    assert.deepEqual(verifyFrame(f, partial), [], `packet ${n} tcp=${tcp} partial=${partial}`);
  }
});

test('NAT rewrite of random IPv6 TCP packets (8 words per address), full and partial', () => {
  const r = rng(5);
  for (let n = 0; n < 500; n++) {
    const partial = r() < 0.5;
    const hexw = () => Math.floor(r() * 65536).toString(16);
    const a = () => `2001:db8:${hexw()}:${hexw()}:${hexw()}:${hexw()}:${hexw()}:${hexw()}`;
    const pkt = ipPacket({ src: a(), dst: a(), l4: { proto: 'tcp', sport: 1000, dport: 80, flags: 'PA', payload: [1, 2, 3, 4, 5], partial } });
    const l4 = 40;
    const co = l4 + 16;
    let c = (pkt[co]! << 8) | pkt[co + 1]!;
    for (let w = 0; w < 4; w++) {
      const old = getU32(pkt, 24 + w * 4);
      const nw = Math.floor(r() * 4294967296) >>> 0;
      c = l4Replace32(c, old, nw, partial);
      setAddr4(pkt, 24 + w * 4, nw);
    }
    pkt[co] = c >>> 8; pkt[co + 1] = c & 255;
    const f = Uint8Array.from([...(partial ? [1, 0, 0, 0, 0, 0, 54, 0, 16, 0] : []), 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x86, 0xdd, ...pkt]);
    assert.deepEqual(verifyFrame(f, partial), [], `packet ${n} partial=${partial}`);
  }
});
