/**
 * The fanout program (src/forward/fanout-program.ts) run by a naive classic-BPF interpreter
 * over IP packets as the kernel's fanout hook sees them (network header first, ethertype
 * from skb->protocol): a client's requests, the NAT replies to it, ICMP errors about its
 * connections, and its persistence network must all pick the same worker; the value must be
 * what fanoutHash() computes in TypeScript (trace relies on it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fanoutHash, fanoutProgram, fanoutSpec, fanoutWorker, type FanoutSpec } from '../../../src/forward/fanout-program.js';
import { makeModel } from './lib/model.js';

/** Naive cBPF (linux/filter.h semantics); out-of-bounds loads end the program with 0. */
function runCbpf(prog: Uint32Array, pkt: Uint8Array, protocol: number): number {
  let A = 0, X = 0, pc = 0;
  const M = new Uint32Array(16);
  const ld = (off: number, size: number): number | null => {
    if (off === 0xfffff000 && size === 2) return protocol;
    if (off < 0 || off + size > pkt.length) return null;
    let v = 0;
    for (let i = 0; i < size; i++) v = (v * 256) + pkt[off + i]!;
    return v >>> 0;
  };
  for (let steps = 0; steps < 10_000; steps++) {
    const w0 = prog[pc * 2]!, k = prog[pc * 2 + 1]!;
    const code = w0 & 0xffff, jt = (w0 >>> 16) & 0xff, jf = w0 >>> 24;
    pc++;
    const cls = code & 7;
    const size = [4, 2, 1][(code >> 3) & 3]!;
    const mode = code & 0xe0;
    const src = code & 0x08 ? X : k;
    switch (cls) {
      case 0: { // LD
        const v = mode === 0x20 ? ld(k, size) : mode === 0x40 ? ld((X + k) >>> 0, size) : mode === 0x00 ? k : mode === 0x60 ? M[k]! : null;
        if (v === null) return 0;
        A = v;
        break;
      }
      case 1: { // LDX
        if (mode === 0xa0) { const b = ld(k, 1); if (b === null) return 0; X = (b & 0xf) * 4; } else if (mode === 0x00) X = k; else X = M[k]!;
        break;
      }
      case 2: M[k] = A; break;
      case 3: M[k] = X; break;
      case 4: { // ALU
        const op = code & 0xf0;
        if (op === 0x00) A = (A + src) >>> 0;
        else if (op === 0x20) A = Math.imul(A, src) >>> 0;
        else if (op === 0x50) A = (A & src) >>> 0;
        else if (op === 0x60) A = (A << src) >>> 0;
        else if (op === 0x70) A = A >>> src;
        else if (op === 0xa0) A = (A ^ src) >>> 0;
        else throw new Error(`alu op ${op}`);
        break;
      }
      case 5: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) { pc += k; break; }
        const c = op === 0x10 ? A === src : op === 0x20 ? A > src : op === 0x30 ? A >= src : (A & src) !== 0;
        pc += c ? jt : jf;
        break;
      }
      case 6: return code & 0x10 ? A : k;
      case 7: if (code & 0x80) A = X; else X = A; break;
    }
  }
  throw new Error('program did not end');
}

const ip4 = (s: string) => s.split('.').map(Number);
function v4(src: string, dst: string, proto: number, payload: number[] = []): Uint8Array {
  const p = new Uint8Array(20 + Math.max(8, payload.length));
  p[0] = 0x45; p[9] = proto;
  p.set(ip4(src), 12); p.set(ip4(dst), 16);
  p.set(payload, 20);
  return p;
}
function icmp4Error(type: number, quoted: Uint8Array, withOptions = false): Uint8Array {
  const outerLen = withOptions ? 24 : 20;
  const p = new Uint8Array(outerLen + 8 + 28);
  p[0] = withOptions ? 0x46 : 0x45; p[9] = 1;
  p.set(ip4('198.18.9.1'), 12); p.set(ip4('198.18.0.10'), 16);
  p[outerLen] = type;
  p.set(quoted.subarray(0, 28), outerLen + 8);
  return p;
}
function v6words(a: number[]): number[] {
  return [0, 1, 2, 3].map((i) => ((a[i * 4]! << 24) | (a[i * 4 + 1]! << 16) | (a[i * 4 + 2]! << 8) | a[i * 4 + 3]!) >>> 0);
}
function v6bytes(s: string): number[] {
  // 2001:db8::X style only
  const [head, tail] = s.split('::');
  const hs = head ? head.split(':').map((h) => parseInt(h, 16)) : [];
  const ts = tail ? tail.split(':').map((h) => parseInt(h, 16)) : [];
  const groups = [...hs, ...new Array(8 - hs.length - ts.length).fill(0), ...ts];
  return groups.flatMap((g) => [g >> 8, g & 255]);
}
function v6(src: string, dst: string, next: number, payload: number[] = []): Uint8Array {
  const p = new Uint8Array(40 + Math.max(8, payload.length));
  p[0] = 0x60; p[6] = next;
  p.set(v6bytes(src), 8); p.set(v6bytes(dst), 24);
  p.set(payload, 40);
  return p;
}

const model = makeModel({
  services: [
    { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', persistenceTimeoutS: 300, persistenceGranularity: 24,
      reals: [{ address: '198.18.1.11', port: 8080 }, { address: '198.18.1.12', port: 8080 }] },
    { match: { kind: 'addr', address: '198.18.0.10', port: 53 }, protocol: 'udp', method: 'NAT', reals: [{ address: '198.18.1.13', port: 53 }] },
    { match: { kind: 'addr', address: '198.18.0.20', port: 80 }, method: 'DR', reals: [{ address: '198.18.1.21', port: 80 }] },
    { match: { kind: 'addr', address: '2001:db8::10', port: 80 }, family: 'ipv6', method: 'NAT', persistenceTimeoutS: 60, persistenceGranularity: 64,
      reals: [{ address: '2001:db8:1::11', port: 80 }] },
  ],
});

test('spec: coarsest granularity per family, NAT real servers only', () => {
  const s = fanoutSpec(model);
  assert.equal(s.mask4, 0xffffff00);
  assert.deepEqual([...s.mask6], [0xffffffff, 0xffffffff, 0, 0]);
  assert.deepEqual(s.natReals4, [0xc612010b, 0xc612010c, 0xc612010d]);
  assert.equal(s.natReals6.length, 1);
});

test('IPv4: request, NAT reply and the client network agree; the value is fanoutHash()', () => {
  const spec = fanoutSpec(model);
  const prog = fanoutProgram(spec);
  for (let i = 0; i < 300; i++) {
    const client = `198.19.${i % 200}.${(i * 37) % 250 + 1}`;
    const req = runCbpf(prog, v4(client, '198.18.0.10', 6), 0x0800);
    const reply = runCbpf(prog, v4('198.18.1.12', client, 6), 0x0800);
    const udpReply = runCbpf(prog, v4('198.18.1.13', client, 17), 0x0800);
    const neighbour = runCbpf(prog, v4(`198.19.${i % 200}.254`, '198.18.0.10', 17), 0x0800);
    const expect = fanoutHash([ip4(client).reduce((a, b) => a * 256 + b, 0)], [spec.mask4]);
    assert.equal(req, expect, client);
    assert.equal(reply, expect, `reply to ${client}`);
    assert.equal(udpReply, expect);
    assert.equal(neighbour, expect, 'same /24 (persistence granularity) → same value');
  }
  // A DR real server is not a NAT real: its frames hash by their source like any client's.
  const dr = runCbpf(prog, v4('198.18.1.21', '198.19.0.1', 6), 0x0800);
  assert.equal(dr, fanoutHash([0xc6120115], [spec.mask4]));
});

test('IPv4 ICMP errors follow the quoted connection, from either side, outer options included', () => {
  const spec = fanoutSpec(model);
  const prog = fanoutProgram(spec);
  const client = '198.19.7.9';
  const want = runCbpf(prog, v4(client, '198.18.0.10', 6), 0x0800);
  // Client side: a router quotes our reply (VIP → client).
  assert.equal(runCbpf(prog, icmp4Error(3, v4('198.18.0.10', client, 6)), 0x0800), want);
  assert.equal(runCbpf(prog, icmp4Error(11, v4('198.18.0.10', client, 6), true), 0x0800), want);
  // Real side: the real server quotes our forwarded request (client → RIP), fragmentation needed.
  assert.equal(runCbpf(prog, icmp4Error(3, v4(client, '198.18.1.11', 6)), 0x0800), want);
  // Echo requests hash by their source.
  const echo = v4(client, '198.18.0.10', 1, [8, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(runCbpf(prog, echo, 0x0800), want);
  // Parameter problem (12) is not relayed (ip_vs_in_icmp): hashed by its own source, a router.
  assert.equal(runCbpf(prog, icmp4Error(12, v4('198.18.0.10', client, 6)), 0x0800), fanoutHash([0xc6120901], [spec.mask4]));
  assert.notEqual(want, fanoutHash([0xc6120901], [spec.mask4]), 'the two hashes differ, so the case is told apart');
});

test('IPv6: request, NAT reply, ICMPv6 errors and the /64 agree', () => {
  const spec = fanoutSpec(model);
  const prog = fanoutProgram(spec);
  const client = '2001:db8:5:6::abcd';
  const want = fanoutHash(v6words(v6bytes(client)), spec.mask6);
  assert.equal(runCbpf(prog, v6(client, '2001:db8::10', 6), 0x86dd), want);
  assert.equal(runCbpf(prog, v6('2001:db8:1::11', client, 6), 0x86dd), want);
  assert.equal(runCbpf(prog, v6('2001:db8:5:6::1', '2001:db8::10', 6), 0x86dd), want, 'same /64');
  const quotedReq = v6(client, '2001:db8:1::11', 6);
  const err = v6('2001:db8:1::11', client, 58, [2, 0, 0, 0, 0, 0, 5, 0xdc, ...quotedReq.subarray(0, 40)]);
  assert.equal(runCbpf(prog, err, 0x86dd), want, 'packet too big from the real server');
  const quotedReply = v6('2001:db8::10', client, 6);
  const err2 = v6('2001:db8:9::1', '2001:db8::10', 58, [1, 0, 0, 0, 0, 0, 0, 0, ...quotedReply.subarray(0, 40)]);
  assert.equal(runCbpf(prog, err2, 0x86dd), want, 'unreachable from a client-side router');
});

test('ARP and other ethertypes go to the first worker; short frames end with 0', () => {
  const prog = fanoutProgram(fanoutSpec(model));
  assert.equal(runCbpf(prog, new Uint8Array(28), 0x0806), 0);
  assert.equal(runCbpf(prog, new Uint8Array(10), 0x0800), 0);
});

test('fanoutWorker spreads clients over workers and agrees with the program', () => {
  const spec: FanoutSpec = fanoutSpec(makeModel({ services: [{ match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', reals: [{ address: '198.18.1.11', port: 80 }] }] }));
  assert.equal(spec.mask4, 0xffffffff);
  const prog = fanoutProgram(spec);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const a = (0xc6130000 + i) >>> 0;
    const w = fanoutWorker(spec, 4, [a], 3);
    counts[w]!++;
    const pkt = v4(`198.19.${(i >> 8) & 255}.${i & 255}`, '198.18.0.10', 6);
    assert.equal(runCbpf(prog, pkt, 0x0800) % 3, w);
  }
  for (const c of counts) assert.ok(c > 800 && c < 1200, `balanced: ${counts.join(',')}`);
});

test('many NAT real servers: long jumps stay in range; too many is an error', () => {
  const reals = Array.from({ length: 600 }, (_, i) => ({ address: `198.18.${2 + (i >> 8)}.${i & 255}`, port: 80 }));
  const spec = fanoutSpec(makeModel({ services: [{ match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', reals }] }));
  const prog = fanoutProgram(spec);
  assert.equal(runCbpf(prog, v4('198.18.4.87', '198.19.0.1', 6), 0x0800), fanoutHash([0xc6130001], [0xffffffff]));
  const tooMany = { ...spec, natReals6: Array.from({ length: 500 }, (_, i) => [0x20010db8, 0, 0, i] as const) };
  assert.throws(() => fanoutProgram(tooMany), RangeError);
});

test('FULLNAT: a reply to a local address and an ICMP error quoting one return the local port itself (lport % workers is the owner); requests still hash the client', () => {
  const m = makeModel({
    services: [
      { match: { kind: 'addr', address: '198.18.0.30', port: 80 }, method: 'FNAT', reals: [{ address: '198.18.1.11', port: 8080 }] },
      { match: { kind: 'addr', address: '2001:db8::30', port: 80 }, method: 'FNAT', reals: [{ address: '2001:db8:1::11', port: 8080 }] },
      { match: { kind: 'addr', address: '198.18.0.10', port: 80 }, method: 'NAT', reals: [{ address: '198.18.1.11', port: 80 }] },
    ],
  });
  const vs = { ...m.virtualServers };
  vs['tcp:198.18.0.30:80'] = { ...vs['tcp:198.18.0.30:80']!, localAddresses: ['198.18.1.200', '198.18.1.201'] };
  vs['tcp:[2001:db8::30]:80'] = { ...vs['tcp:[2001:db8::30]:80']!, localAddresses: ['2001:db8:1::200'] };
  const spec = fanoutSpec({ ...m, virtualServers: vs });
  assert.deepEqual(spec.locals4, [0xc61201c8, 0xc61201c9]);
  assert.equal(spec.locals6!.length, 1);
  const prog = fanoutProgram(spec);
  // RIP:8080 → LIP:40007 (the real server is also a NAT real server of another service: the local address wins).
  const reply = v4('198.18.1.11', '198.18.1.201', 6, [0x1f, 0x90, 40007 >> 8, 40007 & 255]);
  assert.equal(runCbpf(prog, reply, 0x0800), 40007);
  const withOpts = new Uint8Array(24 + 8);
  withOpts[0] = 0x46; withOpts[9] = 6;
  withOpts.set(ip4('198.18.1.11'), 12); withOpts.set(ip4('198.18.1.200'), 16);
  withOpts.set([0x1f, 0x90, 0x9c, 0x47], 24);
  assert.equal(runCbpf(prog, withOpts, 0x0800), 0x9c47, 'IPv4 options before the ports');
  // The real server's port unreachable about LIP:40007 → RIP:8080, to the local address.
  const err = icmp4Error(3, v4('198.18.1.200', '198.18.1.11', 6, [40007 >> 8, 40007 & 255, 0x1f, 0x90]), true);
  assert.equal(runCbpf(prog, err, 0x0800), 40007);
  // IPv6: to the local address, and an ICMPv6 error quoting it.
  assert.equal(runCbpf(prog, v6('2001:db8:1::11', '2001:db8:1::200', 6, [0x1f, 0x90, 0x4e, 0x27]), 0x86dd), 0x4e27);
  const q = v6('2001:db8:1::200', '2001:db8:1::11', 6, [0x4e, 0x27, 0x1f, 0x90]);
  const e6 = v6('2001:db8:1::11', '2001:db8:1::200', 58, [1, 4, 0, 0, 0, 0, 0, 0, ...q.subarray(0, 48)]);
  assert.equal(runCbpf(prog, e6, 0x86dd), 0x4e27);
  // A client's request to the FNAT VIP still hashes the client.
  assert.equal(runCbpf(prog, v4('198.19.3.4', '198.18.0.30', 6), 0x0800), fanoutHash([0xc6130304], [0xffffffff]));
});

test('TUN: an ICMP error quoting an IP-in-IP or GRE outer packet follows the client inside it', () => {
  const spec = fanoutSpec(model);
  const prog = fanoutProgram(spec);
  const client = '198.19.44.5';
  const want = runCbpf(prog, v4(client, '198.18.0.20', 6), 0x0800);
  const inner = v4(client, '198.18.0.20', 6, [0x9c, 0x40, 0, 80, 0, 0, 0, 1]);
  const quote = (proto: number, encap: number[]): Uint8Array => {
    const q = new Uint8Array(20 + encap.length + 28);
    q[0] = 0x45; q[9] = proto;
    q.set(ip4('198.18.1.2'), 12); q.set(ip4('198.18.1.21'), 16);
    q.set(encap, 20);
    q.set(inner.subarray(0, 28), 20 + encap.length);
    return q;
  };
  const err = (quoted: Uint8Array, withOptions = false) => {
    const outerLen = withOptions ? 24 : 20;
    const p = new Uint8Array(outerLen + 8 + quoted.length);
    p[0] = withOptions ? 0x46 : 0x45; p[9] = 1;
    p.set(ip4('198.18.1.254'), 12); p.set(ip4('198.18.1.2'), 16);
    p[outerLen] = 3; p[outerLen + 1] = 4;
    p.set(quoted, outerLen + 8);
    return p;
  };
  assert.equal(runCbpf(prog, err(quote(4, [])), 0x0800), want, 'IP-in-IP');
  assert.equal(runCbpf(prog, err(quote(4, []), true), 0x0800), want, 'IP-in-IP, outer options');
  assert.equal(runCbpf(prog, err(quote(47, [0, 0, 8, 0])), 0x0800), want, 'GRE');
  assert.equal(runCbpf(prog, err(quote(47, [0x80, 0, 8, 0, 0x12, 0x34, 0, 0])), 0x0800), want, 'GRE with checksum');
});
