/**
 * The classic BPF program that spreads frames over forwarding workers
 * (PACKET_FANOUT_CBPF, docs/decisions/forwarding-workers.md), generated from the model.
 *
 * Each worker's connection table must see both directions of its flows and every
 * connection of a persistent client network, so the program hashes the *client* address,
 * masked by the coarsest `persistence_granularity` of the services:
 *   - a frame whose source is a NAT real server (a reply) → its destination address;
 *   - an ICMP/ICMPv6 error → the quoted packet's client side (its source when the quoted
 *     destination is a NAT real server, else its destination), as ip_vs_in_icmp /
 *     ip_vs_out_icmp find the connection;
 *   - an ICMP error quoting one of TUN's IP-in-IP or GRE outer packets → the source of the
 *     packet inside (the client);
 *   - a frame to a FULLNAT local address (a reply RIP:rport → LIP:lport) → its destination
 *     port itself, unhashed: each worker takes the local ports ≡ its index mod workers
 *     (Pipeline.allocLocal), so `lport % members` is the worker that owns the connection; an
 *     ICMP error quoting a packet from a local address → the quoted source port likewise;
 *   - any other IPv4/IPv6 frame (a request) → its source address;
 *   - everything else (ARP) → 0, the first worker (every worker answers ARP alike).
 * The kernel picks the group member (return value % members); members are numbered in join
 * order, and the subsystem starts the workers one after the other, so member i is worker i
 * on every interface's group. {@link fanoutHash} computes the same value in TypeScript
 * (`trace` asks the worker that owns the client).
 *
 * On receive, a fanout program sees the skb at its network header (the Ethernet header is
 * already pulled), so offsets are from the IP header and the ethertype comes from the
 * ancillary load SKF_AD_PROTOCOL. Loads past the end of a frame end the program with 0.
 */
import type { Model } from '../model/types.js';
import { parseIPv4, parseIPv6 } from '../lib/ip.js';

// linux/filter.h, linux/bpf_common.h
const LD = 0x00, LDX = 0x01, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
const W = 0x00, H = 0x08, B = 0x10;
const ABS = 0x20, IND = 0x40, MSH = 0xa0;
const ADD = 0x00, MUL = 0x20, AND = 0x50, LSH = 0x60, RSH = 0x70, XOR = 0xa0;
const JA = 0x00, JEQ = 0x10, JGE = 0x30, JSET = 0x40;
const K = 0x00, X = 0x08, RA = 0x10;
const TAX = 0x00;
/** SKF_AD_OFF + SKF_AD_PROTOCOL: A = ntohs(skb->protocol). */
const AD_PROTOCOL = 0xfffff000;
/** Most instructions a classic BPF program may have (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Multiplier of the hash (Knuth's golden ratio, as conn-table.ts mixes). */
const HASH_K = 0x9e3779b1;

/** What the program is generated from. */
export interface FanoutSpec {
  /** IPv4 netmask of the coarsest persistence granularity (0xffffffff = per address). */
  readonly mask4: number;
  /** IPv6 mask words of the coarsest persistence granularity. */
  readonly mask6: readonly [number, number, number, number];
  /** NAT real servers (and NAT sorry servers), as address words. */
  readonly natReals4: readonly number[];
  readonly natReals6: readonly (readonly [number, number, number, number])[];
  /** FULLNAT local addresses (of services with a FULLNAT real or sorry server), as words. */
  readonly locals4?: readonly number[];
  readonly locals6?: readonly (readonly [number, number, number, number])[];
}

function prefixWords(plen: number, words: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < words; i++) {
    const bits = Math.max(0, Math.min(32, plen - 32 * i));
    out.push(bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  }
  return out;
}

/** Address words into one of two sets (IPv4 numbers, IPv6 word quadruples). */
function addWords(address: string, s4: Set<number>, s6: Map<string, [number, number, number, number]>): void {
  const a4 = parseIPv4(address);
  if (a4 !== null) { s4.add(a4 >>> 0); return; }
  const a6 = parseIPv6(address);
  if (!a6) return;
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((a6[i * 4]! << 24) | (a6[i * 4 + 1]! << 16) | (a6[i * 4 + 2]! << 8) | a6[i * 4 + 3]!) >>> 0;
  s6.set(w.join(','), w);
}

/** The fanout spec of a model: coarsest granularity per family, NAT real server addresses, FULLNAT local addresses. */
export function fanoutSpec(model: Model): FanoutSpec {
  let p4 = 32;
  let p6 = 128;
  const r4 = new Set<number>();
  const r6 = new Map<string, [number, number, number, number]>();
  const l4 = new Set<number>();
  const l6 = new Map<string, [number, number, number, number]>();
  for (const vs of Object.values(model.virtualServers)) {
    if (vs.persistenceTimeoutS > 0) {
      if (vs.family === 'ipv6') p6 = Math.min(p6, vs.persistenceGranularity);
      else p4 = Math.min(p4, vs.persistenceGranularity);
    }
    for (const rs of Object.values(vs.realServers)) if (rs.method === 'NAT') addWords(rs.address, r4, r6);
    if (vs.sorryServer && vs.sorryServer.method === 'NAT') addWords(vs.sorryServer.address, r4, r6);
    const fnat = Object.values(vs.realServers).some((rs) => rs.method === 'FNAT') || vs.sorryServer?.method === 'FNAT';
    if (fnat) for (const a of vs.localAddresses ?? []) addWords(a, l4, l6);
  }
  const m6 = prefixWords(p6, 4);
  return {
    mask4: prefixWords(p4, 1)[0]!, mask6: [m6[0]!, m6[1]!, m6[2]!, m6[3]!], natReals4: [...r4].sort((a, b) => a - b), natReals6: [...r6.values()],
    locals4: [...l4].sort((a, b) => a - b), locals6: [...l6.values()],
  };
}

/**
 * The hash the program returns for a client address (1 word for IPv4, 4 for IPv6), masked:
 * h = (w0 & m0) × K; then for each further word h = ((wi & mi) ^ h) × K; result h ^ (h >>> 16).
 */
export function fanoutHash(words: ArrayLike<number>, masks: ArrayLike<number>): number {
  let h = Math.imul((words[0]! & masks[0]!) >>> 0, HASH_K) >>> 0;
  for (let i = 1; i < words.length; i++) h = Math.imul(((words[i]! & masks[i]!) ^ h) >>> 0, HASH_K) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Which of `workers` members gets a client's frames (the kernel's `ret % num_members`). */
export function fanoutWorker(spec: FanoutSpec, fam: 4 | 6, words: ArrayLike<number>, workers: number): number {
  if (workers <= 1) return 0;
  return fanoutHash(words, fam === 4 ? [spec.mask4] : spec.mask6) % workers;
}

type Target = string | number;
interface Insn { code: number; jt: Target; jf: Target; k: number | string }

/** A tiny assembler: labels, conditional jumps within 255, `ja` anywhere. */
class Asm {
  readonly insns: Insn[] = [];
  readonly labels = new Map<string, number>();
  op(code: number, k: number | string = 0, jt: Target = 0, jf: Target = 0): this {
    this.insns.push({ code, jt, jf, k });
    return this;
  }
  label(name: string): this {
    this.labels.set(name, this.insns.length);
    return this;
  }
  ja(label: string): this {
    return this.op(JMP | JA, label);
  }
  assemble(): Uint32Array {
    const n = this.insns.length;
    if (n > BPF_MAXINSNS) throw new RangeError(`fanout program has ${n} instructions (most ${BPF_MAXINSNS})`);
    const out = new Uint32Array(n * 2);
    const rel = (t: Target, pc: number, short: boolean): number => {
      if (typeof t === 'number') return t;
      const at = this.labels.get(t);
      if (at === undefined) throw new Error(`fanout program: no label ${t}`);
      const d = at - pc - 1;
      if (d < 0 || (short && d > 255)) throw new RangeError(`fanout program: jump to ${t} out of range (${d})`);
      return d;
    };
    this.insns.forEach((ins, pc) => {
      const jt = rel(ins.jt, pc, true);
      const jf = rel(ins.jf, pc, true);
      const k = typeof ins.k === 'string' ? rel(ins.k, pc, false) : ins.k;
      out[pc * 2] = (ins.code | (jt << 16) | (jf << 24)) >>> 0;
      out[pc * 2 + 1] = k >>> 0;
    });
    return out;
  }
}

/** Emits: if A (a loaded word sequence) equals one of `reals`, jump to `hit`; else fall through. */
function matchReals4(a: Asm, load: () => void, reals: readonly number[], hit: string): void {
  if (!reals.length) return;
  load();
  for (const r of reals) a.op(JMP | JEQ | K, r, 0, 1).ja(hit);
}

function matchReals6(a: Asm, base: number, reals: readonly (readonly number[])[], hit: string): void {
  for (const r of reals) {
    // ld w0; jeq r0 ? next : skip ... ; 4 compares then ja hit (9 instructions per address)
    a.op(LD | W | ABS, base).op(JMP | JEQ | K, r[0]!, 0, 7)
      .op(LD | W | ABS, base + 4).op(JMP | JEQ | K, r[1]!, 0, 5)
      .op(LD | W | ABS, base + 8).op(JMP | JEQ | K, r[2]!, 0, 3)
      .op(LD | W | ABS, base + 12).op(JMP | JEQ | K, r[3]!, 0, 1)
      .ja(hit);
  }
}

function hash6(a: Asm, base: number, m: readonly number[]): void {
  a.op(LD | W | ABS, base).op(ALU | AND | K, m[0]!).op(ALU | MUL | K, HASH_K);
  for (let i = 1; i < 4; i++) {
    a.op(MISC | TAX).op(LD | W | ABS, base + 4 * i).op(ALU | AND | K, m[i]!).op(ALU | XOR | X).op(ALU | MUL | K, HASH_K);
  }
  a.op(MISC | TAX).op(ALU | RSH | K, 16).op(ALU | XOR | X).op(RET | RA);
}

/** Generates the program (two words per instruction, for PacketSocket.setFanoutProgram). */
export function fanoutProgram(spec: FanoutSpec): Uint32Array {
  const a = new Asm();
  a.op(LD | H | ABS, AD_PROTOCOL)
    .op(JMP | JEQ | K, 0x0800, 0, 1).ja('v4')
    .op(JMP | JEQ | K, 0x86dd, 0, 1).ja('v6')
    .op(RET | K, 0);

  const locals4 = spec.locals4 ?? [];
  const locals6 = spec.locals6 ?? [];
  // ── IPv4 (offsets from the IP header). Classic BPF jumps only forward, so the ICMP
  // section comes first and everything ends in one hash tail. ──
  a.label('v4').op(LD | B | ABS, 9).op(JMP | JEQ | K, 1, 0, 1).ja('icmp4').ja('plain4');
  // ICMP errors the pipeline relays (3 unreachable, 4 source quench, 11 time exceeded, as
  // ip_vs_in_icmp; any other type is hashed like a plain frame): the quoted header starts 8
  // bytes after the outer header (X = outer IHL × 4).
  a.label('icmp4').op(LDX | B | MSH, 0).op(LD | B | IND, 0);
  for (const t of [3, 4, 11]) a.op(JMP | JEQ | K, t, 0, 1).ja('inner4');
  a.ja('plain4');
  a.label('inner4');
  // An error about one of TUN's outer packets (IP-in-IP, GRE): the client is the source of the
  // packet inside (the core relays it to that connection's client: xmit/tun.ts tunnelIcmp).
  a.op(LD | B | IND, 8 + 9).op(JMP | JEQ | K, 4, 0, 1).ja('tunq4').op(JMP | JEQ | K, 47, 0, 1).ja('greq4');
  matchReals4(a, () => a.op(LD | W | IND, 8 + 12), locals4, 'innerlocal4');
  matchReals4(a, () => a.op(LD | W | IND, 8 + 16), spec.natReals4, 'innersrc4');
  a.op(LD | W | IND, 8 + 16).ja('hash4');
  a.label('innersrc4').op(LD | W | IND, 8 + 12).ja('hash4');
  // X = outer IHL×4 + quoted IHL×4; the packet inside starts at X + 8 (IP-in-IP) or after GRE's 4 or 8 bytes.
  a.label('tunq4').op(LD | B | IND, 8).op(ALU | AND | K, 0xf).op(ALU | LSH | K, 2).op(ALU | ADD | X).op(MISC | TAX)
    .op(LD | W | IND, 8 + 12).ja('hash4');
  a.label('greq4').op(LD | B | IND, 8).op(ALU | AND | K, 0xf).op(ALU | LSH | K, 2).op(ALU | ADD | X).op(MISC | TAX)
    .op(LD | B | IND, 8).op(JMP | JSET | K, 0x80, 0, 2).op(LD | W | IND, 8 + 8 + 12).ja('hash4')
    .op(LD | W | IND, 8 + 4 + 12).ja('hash4');
  if (locals4.length) {
    // Quoted from a local address: its source port (X = outer IHL×4 + quoted IHL×4).
    a.label('innerlocal4').op(LD | B | IND, 8).op(ALU | AND | K, 0xf).op(ALU | LSH | K, 2).op(ALU | ADD | X).op(MISC | TAX)
      .op(LD | H | IND, 8).op(RET | RA);
  }
  a.label('plain4');
  if (locals4.length) {
    matchReals4(a, () => a.op(LD | W | ABS, 16), locals4, 'local4');
  }
  matchReals4(a, () => a.op(LD | W | ABS, 12), spec.natReals4, 'dst4');
  a.op(LD | W | ABS, 12).ja('hash4');
  a.label('dst4').op(LD | W | ABS, 16);
  a.label('hash4').op(ALU | AND | K, spec.mask4).op(ALU | MUL | K, HASH_K).op(MISC | TAX).op(ALU | RSH | K, 16).op(ALU | XOR | X).op(RET | RA);
  // To a local address: the destination port (fragments are not forwarded anyway).
  if (locals4.length) a.label('local4').op(LDX | B | MSH, 0).op(LD | H | IND, 2).op(RET | RA);

  // ── IPv6 (fixed header; extension headers are not walked: such frames hash by the outer
  // source). ICMPv6 errors are types 1..127 (RFC 4443 §2.1); the quoted header is at 40 + 8. ──
  a.label('v6').op(LD | B | ABS, 6).op(JMP | JEQ | K, 58, 0, 1).ja('icmp6').ja('plain6');
  a.label('icmp6').op(LD | B | ABS, 40).op(JMP | JGE | K, 128, 0, 1).ja('plain6');
  matchReals6(a, 48 + 8, locals6, 'innerlocal6');
  matchReals6(a, 48 + 24, spec.natReals6, 'innersrc6');
  hash6(a, 48 + 24, spec.mask6);
  a.label('innersrc6');
  hash6(a, 48 + 8, spec.mask6);
  if (locals6.length) a.label('innerlocal6').op(LD | H | ABS, 48 + 40).op(RET | RA);
  a.label('plain6');
  matchReals6(a, 24, locals6, 'local6');
  matchReals6(a, 8, spec.natReals6, 'dst6');
  hash6(a, 8, spec.mask6);
  a.label('dst6');
  hash6(a, 24, spec.mask6);
  if (locals6.length) a.label('local6').op(LD | H | ABS, 40 + 2).op(RET | RA);
  return a.assemble();
}
