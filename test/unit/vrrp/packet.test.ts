import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DROP_REASONS,
  compareAddresses,
  decodeAdvert,
  encodeAdvert,
  encodeIPv4Packet,
  parseIPv4Packet,
  parseIPv6Packet,
  validateAdvert,
  type AdvertExpectation,
  type AdvertSpec,
  type ReceivedPacket,
  type VrrpDropReason,
} from '../../../src/vrrp/packet.js';

// ───────────── naive reference implementation (written independently of the codec) ─────────────

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Address to bytes the slow, obvious way. */
function refAddrBytes(a: string): number[] {
  if (a.includes(':')) {
    const [head, tail] = a.includes('::') ? a.split('::') : [a, ''];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
  }
  return a.split('.').map(Number);
}

/** RFC 1071 checksum by summing 16-bit words from a list, folding with modulo at the end. */
function refChecksum(bytes: number[]): number {
  const b = bytes.length % 2 ? [...bytes, 0] : bytes;
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += b[i]! * 256 + b[i + 1]!;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

function refEncode(s: AdvertSpec): number[] {
  const n = s.addresses.length;
  const body: number[] = [(s.version << 4) | 1, s.vrid, s.priority, n];
  if (s.version === 2) body.push(s.password ? 1 : 0, s.advertIntervalMs / 1000);
  else {
    const cs = s.advertIntervalMs / 10;
    body.push(cs >> 8, cs & 255);
  }
  body.push(0, 0);
  for (const a of s.addresses) body.push(...refAddrBytes(a));
  if (s.version === 2 && s.family === 'ipv4') {
    const pw = [...Buffer.from(s.password ?? '', 'utf8')].slice(0, 8);
    while (pw.length < 8) pw.push(0);
    body.push(...(s.password ? pw : [0, 0, 0, 0, 0, 0, 0, 0]));
  }
  let pseudo: number[] = [];
  if (s.version === 3 && s.family === 'ipv4' && !s.v3ChecksumAsV2) {
    pseudo = [...refAddrBytes(s.src), ...refAddrBytes(s.dst), 0, 112, body.length >> 8, body.length & 255];
  } else if (s.family === 'ipv6') {
    pseudo = [...refAddrBytes(s.src), ...refAddrBytes(s.dst), 0, 0, body.length >> 8, body.length & 255, 0, 0, 0, 112];
  }
  const c = refChecksum([...pseudo, ...body]);
  body[6] = c >> 8;
  body[7] = c & 255;
  return body;
}

// A small deterministic PRNG for round trips.
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

function randomSpec(r: () => number): AdvertSpec {
  const family = r() < 0.3 ? 'ipv6' : 'ipv4';
  const version = family === 'ipv6' ? 3 : r() < 0.5 ? 2 : 3;
  const n = Math.floor(r() * 6) + (version === 3 ? 1 : 0);
  const v4 = () => `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  const v6 = () => `2001:db8:${Math.floor(r() * 65536).toString(16)}::${Math.floor(r() * 65535 + 1).toString(16)}`;
  const addresses = Array.from({ length: n }, () => (family === 'ipv4' ? v4() : v6()));
  return {
    version,
    family,
    vrid: 1 + Math.floor(r() * 255),
    priority: Math.floor(r() * 256),
    advertIntervalMs: version === 2 ? 1000 * (1 + Math.floor(r() * 255)) : 10 * (1 + Math.floor(r() * 4095)),
    addresses,
    password: version === 2 && r() < 0.5 ? 'pw' + Math.floor(r() * 1e9) : null,
    src: family === 'ipv4' ? v4() : 'fe80::1',
    dst: family === 'ipv4' ? (r() < 0.5 ? '224.0.0.18' : v4()) : 'ff02::12',
    v3ChecksumAsV2: r() < 0.2,
  };
}

test('encodeAdvert matches the naive reference on 2000 random adverts (v2, v3, IPv4, IPv6)', () => {
  const r = rng(42);
  for (let i = 0; i < 2000; i++) {
    const s = randomSpec(r);
    assert.equal(hexOf(encodeAdvert(s)), Buffer.from(refEncode(s)).toString('hex'), JSON.stringify(s));
  }
});

test('round trip: decode(encode(spec)) gives back every field, and validates against its own expectation', () => {
  const r = rng(7);
  for (let i = 0; i < 2000; i++) {
    const s = randomSpec(r);
    const bytes = encodeAdvert(s);
    const d = decodeAdvert(bytes, s.family);
    assert.ok(d.ok);
    assert.equal(d.value.version, s.version);
    assert.equal(d.value.vrid, s.vrid);
    assert.equal(d.value.priority, s.priority);
    assert.equal(d.value.advertIntervalMs, s.advertIntervalMs);
    assert.deepEqual(d.value.addresses, s.addresses);
    const pkt: ReceivedPacket = { family: s.family, src: s.src, dst: s.dst, ttl: 255, payload: bytes };
    const multicast = s.dst === '224.0.0.18' || s.dst === 'ff02::12';
    const exp: AdvertExpectation = {
      family: s.family, version: s.version, vrid: s.vrid, advertIntervalMs: s.advertIntervalMs,
      password: s.password ?? null, vips: s.addresses, unicastPeers: multicast ? [] : [s.src], checkUnicastSrc: true,
      v3ChecksumAsV2: s.v3ChecksumAsV2 ?? false, mcastGroup: '224.0.0.18',
    };
    const v = validateAdvert(pkt, exp, true);
    assert.ok(v.ok, `${JSON.stringify(s)} -> ${JSON.stringify(v)}`);
  }
});

test('encodeIPv4Packet writes the header keepalived writes (TOS 0xc0, TTL 255, proto 112, valid header checksum)', () => {
  const vrrp = encodeAdvert({ version: 2, family: 'ipv4', vrid: 51, priority: 150, advertIntervalMs: 1000, addresses: ['198.18.5.100', '198.18.5.101'], password: 'secret12345', src: '198.18.5.1', dst: '224.0.0.18' });
  const ip = encodeIPv4Packet(vrrp, '198.18.5.1', '224.0.0.18', 1);
  // byte-identical to keepalived's first advert of the v2 capture (frame minus Ethernet header)
  const golden = JSON.parse(readFileSync(new URL('../../golden/vrrp/keepalived-adverts.json', import.meta.url), 'utf8'));
  const v2 = golden.captures.find((c: { name: string }) => c.name === 'v2');
  assert.equal(hexOf(ip), v2.frames[0].frameHex.slice(28));
  const p = parseIPv4Packet(ip);
  assert.ok(p.ok);
  assert.equal(p.value.ttl, 255);
  assert.equal(p.value.src, '198.18.5.1');
  assert.equal(p.value.dst, '224.0.0.18');
  assert.equal(refChecksum([...ip.subarray(0, 20)]), 0);
});

// ───────────── golden packets from real keepalived ─────────────

interface Capture {
  name: string;
  description: string;
  expect: Omit<AdvertExpectation, 'checkUnicastSrc' | 'mcastGroup'>;
  frames: Array<{ tcpdump: string; frameHex: string }>;
}
const golden: { captures: Capture[] } = JSON.parse(readFileSync(new URL('../../golden/vrrp/keepalived-adverts.json', import.meta.url), 'utf8'));

function fromFrame(hex: string): ReceivedPacket {
  const frame = Buffer.from(hex, 'hex');
  const ethertype = frame.readUInt16BE(12);
  const ip = new Uint8Array(frame.subarray(14));
  const p = ethertype === 0x86dd ? parseIPv6Packet(ip) : parseIPv4Packet(ip);
  assert.ok(p.ok, `frame does not parse: ${JSON.stringify(p)}`);
  return p.value;
}

for (const c of golden.captures) {
  test(`golden keepalived advert "${c.name}" validates and re-encodes byte for byte: ${c.description}`, () => {
    const exp: AdvertExpectation = { ...c.expect, checkUnicastSrc: true, mcastGroup: '224.0.0.18' };
    for (const f of c.frames) {
      const pkt = fromFrame(f.frameHex);
      const v = validateAdvert(pkt, exp, true);
      assert.ok(v.ok, `${f.tcpdump}: ${JSON.stringify(v)}`);
      const again = encodeAdvert({
        version: c.expect.version, family: c.expect.family, vrid: v.value.vrid, priority: v.value.priority,
        advertIntervalMs: v.value.advertIntervalMs, addresses: v.value.addresses, password: c.expect.password,
        src: pkt.src, dst: pkt.dst, v3ChecksumAsV2: c.expect.v3ChecksumAsV2,
      });
      assert.equal(hexOf(again), hexOf(pkt.payload), f.tcpdump);
    }
  });
}

test('v3_checksum_as_v2: a keepalived v3 advert (pseudo-header sum) fails such an instance, and an as-v2 advert fails a normal one', () => {
  // Debian's keepalived 2.2.7 does not know v3_checksum_as_v2 (it logs "Unknown keyword"), so the
  // as-v2 side is checked against the naive reference only.
  const v3 = golden.captures.find((c) => c.name === 'v3')!;
  const p1 = fromFrame(v3.frames[0]!.frameHex);
  const r1 = validateAdvert(p1, { ...v3.expect, v3ChecksumAsV2: true, checkUnicastSrc: false, mcastGroup: '224.0.0.18' }, true);
  assert.equal(r1.ok ? 'ok' : r1.reason, 'checksum');
  const spec: AdvertSpec = { version: 3, family: 'ipv4', vrid: 52, priority: 200, advertIntervalMs: 500, addresses: ['198.18.5.110'], src: '198.18.5.1', dst: '224.0.0.18', v3ChecksumAsV2: true };
  const p2: ReceivedPacket = { family: 'ipv4', src: spec.src, dst: spec.dst, ttl: 255, payload: encodeAdvert(spec) };
  const r2 = validateAdvert(p2, { ...v3.expect, v3ChecksumAsV2: false, checkUnicastSrc: false, mcastGroup: '224.0.0.18' }, true);
  assert.equal(r2.ok ? 'ok' : r2.reason, 'checksum');
  assert.equal(hexOf(p2.payload), Buffer.from(refEncode(spec)).toString('hex'));
});

// ───────────── every drop reason ─────────────

const base: AdvertSpec = { version: 2, family: 'ipv4', vrid: 10, priority: 100, advertIntervalMs: 1000, addresses: ['198.18.0.10', '198.18.0.11'], password: 'pw', src: '198.18.0.1', dst: '224.0.0.18' };
const baseExp: AdvertExpectation = { family: 'ipv4', version: 2, vrid: 10, advertIntervalMs: 1000, password: 'pw', vips: ['198.18.0.10', '198.18.0.11'], unicastPeers: [], checkUnicastSrc: false, v3ChecksumAsV2: false, mcastGroup: '224.0.0.18' };

function pktOf(spec: AdvertSpec, over: Partial<ReceivedPacket> = {}): ReceivedPacket {
  return { family: spec.family, src: spec.src, dst: spec.dst, ttl: 255, payload: encodeAdvert(spec), ...over };
}
function reasonOf(pkt: ReceivedPacket, exp: AdvertExpectation, check = true): string {
  const v = validateAdvert(pkt, exp, check);
  return v.ok ? 'ok' : v.reason;
}

const dropCases: Array<[VrrpDropReason, () => string]> = [
  ['truncated', () => reasonOf({ ...pktOf(base), payload: encodeAdvert(base).subarray(0, 6) }, baseExp)],
  ['length', () => reasonOf({ ...pktOf(base), payload: encodeAdvert(base).subarray(0, 20) }, baseExp)],
  ['ttl', () => reasonOf(pktOf(base, { ttl: 254 }), baseExp)],
  ['version', () => reasonOf(pktOf({ ...base, version: 3, password: null }), baseExp)],
  ['auth_type_invalid', () => {
    const b = encodeAdvert(base);
    b[4] = 7;
    return reasonOf({ ...pktOf(base), payload: b }, baseExp);
  }],
  ['auth_type_mismatch', () => reasonOf(pktOf({ ...base, password: null }), baseExp)],
  ['auth_failure', () => reasonOf(pktOf({ ...base, password: 'other' }), baseExp)],
  ['advert_interval', () => reasonOf(pktOf({ ...base, advertIntervalMs: 2000 }), baseExp)],
  ['type', () => {
    const b = encodeAdvert(base);
    b[0] = 0x22;
    return reasonOf({ ...pktOf(base), payload: b }, baseExp);
  }],
  ['unknown_vrid', () => reasonOf(pktOf({ ...base, vrid: 11 }), baseExp)],
  ['addr_count', () => reasonOf(pktOf({ ...base, addresses: ['198.18.0.10'] }), baseExp)],
  ['ip_length', () => reasonOf(pktOf(base, { ipTotalLength: 60, receivedLength: 44 }), baseExp)],
  ['checksum', () => {
    const b = encodeAdvert(base);
    b[7] ^= 1;
    return reasonOf({ ...pktOf(base), payload: b }, baseExp);
  }],
  ['mcast_unicast_mismatch', () => reasonOf(pktOf({ ...base, dst: '198.18.0.2' }), baseExp)],
  ['addr_list', () => reasonOf(pktOf({ ...base, addresses: ['198.18.0.10', '198.18.0.99'] }), baseExp)],
  ['unicast_src', () => reasonOf(pktOf({ ...base, dst: '198.18.0.2' }), { ...baseExp, unicastPeers: ['198.18.0.3'], checkUnicastSrc: true })],
];

for (const [reason, run] of dropCases) {
  test(`drop reason ${reason}`, () => {
    assert.ok(DROP_REASONS.includes(reason));
    assert.equal(run(), reason);
  });
}

test('bad_ip_header and truncated IP packets are reported, never thrown', () => {
  assert.deepEqual(parseIPv4Packet(new Uint8Array(5)), { ok: false, reason: 'truncated', detail: '5 bytes, no IPv4 header' });
  const b = encodeIPv4Packet(encodeAdvert(base), base.src, base.dst, 1);
  b[9] = 6;
  assert.equal((parseIPv4Packet(b) as { reason: string }).reason, 'bad_ip_header');
  b[9] = 112;
  b[0] = 0x65;
  assert.equal((parseIPv4Packet(b) as { reason: string }).reason, 'bad_ip_header');
  assert.equal((parseIPv6Packet(new Uint8Array(39)) as { reason: string }).reason, 'truncated');
});

test('random garbage never throws from the decoders and validator', () => {
  const r = rng(99);
  for (let i = 0; i < 5000; i++) {
    const len = Math.floor(r() * 80);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
    if (len > 0 && r() < 0.5) b[0] = 0x45;
    if (len > 9 && r() < 0.5) b[9] = 112;
    const p4 = parseIPv4Packet(b);
    if (p4.ok) validateAdvert(p4.value, baseExp, r() < 0.5);
    const p6 = parseIPv6Packet(b);
    if (p6.ok) validateAdvert(p6.value, { ...baseExp, family: 'ipv6', version: 3 }, true);
    decodeAdvert(b, 'ipv4');
    decodeAdvert(b, 'ipv6');
  }
});

test('skip_check_adv_addr: the address list is not judged when the caller says so', () => {
  const p = pktOf({ ...base, addresses: ['198.18.0.77'] });
  assert.equal(reasonOf(p, baseExp, true), 'addr_count');
  assert.equal(reasonOf(p, baseExp, false), 'ok');
});

test('unicast: TTL is not checked (keepalived), a non-peer source is dropped only with check_unicast_src', () => {
  const spec = { ...base, dst: '198.18.0.2' };
  const exp = { ...baseExp, unicastPeers: ['198.18.0.1'], checkUnicastSrc: true };
  assert.equal(reasonOf(pktOf(spec, { ttl: 64 }), exp), 'ok');
  assert.equal(reasonOf(pktOf({ ...spec, src: '198.18.0.5' }), exp), 'unicast_src');
  assert.equal(reasonOf(pktOf({ ...spec, src: '198.18.0.5' }), { ...exp, checkUnicastSrc: false }), 'ok');
});

test('v3 unicast: a checksum summed with the multicast group as destination is accepted (keepalived compat)', () => {
  const spec: AdvertSpec = { version: 3, family: 'ipv4', vrid: 9, priority: 50, advertIntervalMs: 1000, addresses: ['198.18.0.10'], src: '198.18.0.1', dst: '224.0.0.18' };
  const payload = encodeAdvert(spec);
  const exp: AdvertExpectation = { family: 'ipv4', version: 3, vrid: 9, advertIntervalMs: 1000, password: null, vips: ['198.18.0.10'], unicastPeers: ['198.18.0.1'], checkUnicastSrc: false, v3ChecksumAsV2: false, mcastGroup: '224.0.0.18' };
  assert.equal(reasonOf({ family: 'ipv4', src: '198.18.0.1', dst: '198.18.0.2', ttl: 255, payload }, exp), 'ok');
});

test('compareAddresses orders numerically, for both families', () => {
  assert.equal(compareAddresses('198.18.0.2', '198.18.0.10'), -1);
  assert.equal(compareAddresses('198.18.1.0', '198.18.0.255'), 1);
  assert.equal(compareAddresses('198.18.0.1', '198.18.0.1'), 0);
  assert.equal(compareAddresses('fe80::2', 'fe80::10'), -1);
});

test('unicast_peer min_ttl/max_ttl: a TTL outside the window is a ttl drop (with check_unicast_src)', () => {
  const spec = { ...base, dst: '198.18.0.2' };
  const exp = { ...baseExp, unicastPeers: ['198.18.0.1'], checkUnicastSrc: true, peerTtl: { '198.18.0.1': { minTtl: 250, maxTtl: 255 } } };
  assert.equal(reasonOf(pktOf(spec, { ttl: 255 }), exp), 'ok');
  assert.equal(reasonOf(pktOf(spec, { ttl: 64 }), exp), 'ttl');
});

// ───────────── the three VRRPv3 IPv4 checksum forms, byte for byte ─────────────
// One unicast advert 198.18.10.1 → 198.18.10.2 (VRID 51, priority 100, 1 s, VIP 198.18.10.100);
// expected checksums computed by hand (RFC 1071 over pseudo-header + message, see each line).

const UNI: AdvertSpec = { version: 3, family: 'ipv4', vrid: 51, priority: 100, advertIntervalMs: 1000, addresses: ['198.18.10.100'], src: '198.18.10.1', dst: '198.18.10.2' };
const UNI_EXP: AdvertExpectation = {
  family: 'ipv4', version: 3, vrid: 51, advertIntervalMs: 1000, password: null, vips: ['198.18.10.100'], unicastPeers: ['198.18.10.1'],
  checkUnicastSrc: true, v3ChecksumAsV2: false, mcastGroup: '224.0.0.18',
};
/** RFC 5798 §5.2.8: pseudo-header src 198.18.10.1, dst 198.18.10.2, proto 112, length 12. */
const HEX_STANDARD = '313364010064f94bc6120a64';
/** keepalived ≤ 1.3.6 / old_unicast_checksum: the same with dst 224.0.0.18. */
const HEX_OLD = '313364010064e94dc6120a64';
/** v3_checksum_as_v2: the message alone. */
const HEX_AS_V2 = '31336401006499f0c6120a64';

test('checksum forms: standard pseudo-header, old unicast (multicast group as destination) and as-v2 (none), byte for byte', () => {
  assert.equal(hexOf(encodeAdvert(UNI)), HEX_STANDARD);
  assert.equal(hexOf(encodeAdvert({ ...UNI, pseudoDst: '224.0.0.18' })), HEX_OLD);
  assert.equal(hexOf(encodeAdvert({ ...UNI, v3ChecksumAsV2: true })), HEX_AS_V2);
  // as-v2 ignores the pseudo-header destination; IPv6 and v2 are not affected by pseudoDst
  assert.equal(hexOf(encodeAdvert({ ...UNI, v3ChecksumAsV2: true, pseudoDst: '224.0.0.18' })), HEX_AS_V2);
  const v2 = { ...UNI, version: 2 as const };
  assert.equal(hexOf(encodeAdvert({ ...v2, pseudoDst: '224.0.0.18' })), hexOf(encodeAdvert(v2)));
});

function uniPkt(hex: string, dst = '198.18.10.2'): ReceivedPacket {
  return { family: 'ipv4', src: '198.18.10.1', dst, ttl: 255, payload: new Uint8Array(Buffer.from(hex, 'hex')) };
}

test('receiving, unicastChecksum auto (keyword absent): standard accepted; old accepted and flagged so the instance switches; as-v2 dropped', () => {
  const std = validateAdvert(uniPkt(HEX_STANDARD), UNI_EXP, true);
  assert.ok(std.ok);
  assert.equal(std.value.oldUnicastChecksum, false);
  const old = validateAdvert(uniPkt(HEX_OLD), UNI_EXP, true);
  assert.ok(old.ok);
  assert.equal(old.value.oldUnicastChecksum, true, 'keepalived: "Setting unicast VRRPv3 checksum to old version"');
  assert.equal(reasonOf(uniPkt(HEX_AS_V2), UNI_EXP), 'checksum');
  // sent to the group, the old form is the standard one: nothing to switch
  const mcast = validateAdvert(uniPkt(HEX_OLD, '224.0.0.18'), { ...UNI_EXP, unicastPeers: [] }, true);
  assert.ok(mcast.ok);
  assert.equal(mcast.value.oldUnicastChecksum, false);
});

test('receiving, old_unicast_checksum: only the old form is accepted (keepalived checks with the group as destination)', () => {
  const exp = { ...UNI_EXP, unicastChecksum: 'old' as const };
  const old = validateAdvert(uniPkt(HEX_OLD), exp, true);
  assert.ok(old.ok);
  assert.equal(old.value.oldUnicastChecksum, false, 'already in the old form: no switch to report');
  assert.equal(reasonOf(uniPkt(HEX_STANDARD), exp), 'checksum');
  assert.equal(reasonOf(uniPkt(HEX_AS_V2), exp), 'checksum');
});

test('receiving, old_unicast_checksum never: only the standard form, no fallback', () => {
  const exp = { ...UNI_EXP, unicastChecksum: 'never' as const };
  assert.equal(reasonOf(uniPkt(HEX_STANDARD), exp), 'ok');
  assert.equal(reasonOf(uniPkt(HEX_OLD), exp), 'checksum');
});

test('receiving, v3_checksum_as_v2: only the message-only sum, whatever the unicast mode', () => {
  for (const unicastChecksum of ['auto', 'never', 'old'] as const) {
    const exp = { ...UNI_EXP, v3ChecksumAsV2: true, unicastChecksum };
    assert.equal(reasonOf(uniPkt(HEX_AS_V2), exp), 'ok', unicastChecksum);
    assert.equal(reasonOf(uniPkt(HEX_STANDARD), exp), 'checksum', unicastChecksum);
    assert.equal(reasonOf(uniPkt(HEX_OLD), exp), 'checksum', unicastChecksum);
  }
});
