/**
 * An in-memory VRRP wire for tests: hosts plug interfaces into named segments; a packet
 * sent on a segment reaches the other hosts on it (multicast: those that joined the group;
 * unicast: the host owning the destination address), after a delay on the given Clock, as
 * a real segment would deliver it. Links can be cut to simulate a crash or a split brain.
 */
import type { Clock } from '../lib/clock.js';
import { parseIPv4Packet, type ReceivedPacket } from './packet.js';
import type { ChannelInput, VrrpChannel, VrrpChannelSpec, VrrpTransport } from './transport.js';

interface Port {
  host: string;
  segment: string;
  spec: VrrpChannelSpec;
  group: string | null;
  onInput: (i: ChannelInput) => void;
  open: boolean;
}

/** The shared medium. */
export class MemoryWire {
  private readonly clock: Clock;
  private readonly latencyMs: number;
  private readonly ports = new Set<Port>();
  /** host → ifname → segment */
  private readonly plugs = new Map<string, Map<string, string>>();
  /** host → its addresses (unicast delivery and IPv6 sources) */
  private readonly addrs = new Map<string, Set<string>>();
  private readonly cut = new Set<string>();
  /** Every packet put on the wire: (host, segment, dst, bytes). */
  readonly sent: Array<{ host: string; segment: string; dst: string; bytes: Uint8Array; atMs: number }> = [];

  constructor(clock: Clock, latencyMs = 0) {
    this.clock = clock;
    this.latencyMs = latencyMs;
  }

  /** Plugs host's interface into a segment and gives the host addresses. */
  plug(host: string, ifname: string, segment: string, addresses: readonly string[]): void {
    let m = this.plugs.get(host);
    if (!m) this.plugs.set(host, (m = new Map()));
    m.set(ifname, segment);
    const a = this.addrs.get(host) ?? new Set<string>();
    for (const x of addresses) a.add(x);
    this.addrs.set(host, a);
  }

  /** Cuts (or restores) every link of a host: nothing in or out. */
  setCut(host: string, cut: boolean): void {
    if (cut) this.cut.add(host);
    else this.cut.delete(host);
  }

  /** A transport for one host. */
  transport(host: string): VrrpTransport {
    return {
      open: (spec, onInput) => {
        const segment = this.plugs.get(host)?.get(spec.ifname);
        if (!segment) throw new Error(`MemoryWire: ${host} has no interface ${spec.ifname}`);
        const port: Port = { host, segment, spec, group: spec.multicastGroup, onInput, open: true };
        this.ports.add(port);
        const ch: VrrpChannel = {
          spec,
          send: (packet, dst, done) => {
            this.deliver(port, packet, dst);
            done?.(null);
          },
          setMulticast: (g) => {
            port.group = g;
          },
          close: () => {
            port.open = false;
            this.ports.delete(port);
          },
        };
        return ch;
      },
    };
  }

  private deliver(from: Port, packet: Uint8Array, dst: string): void {
    const bytes = Uint8Array.from(packet);
    this.sent.push({ host: from.host, segment: from.segment, dst, bytes, atMs: this.clock.now() });
    if (this.cut.has(from.host)) return;
    const multicast = dst === from.group || dst.startsWith('224.') || dst.toLowerCase().startsWith('ff');
    const src = this.sourceOf(from, bytes);
    for (const p of this.ports) {
      if (p === from || p.segment !== from.segment || p.spec.family !== from.spec.family) continue;
      if (multicast ? p.group !== dst : !this.addrs.get(p.host)?.has(dst)) continue;
      const to = p;
      this.clock.setTimer(this.latencyMs, () => {
        if (!to.open || this.cut.has(to.host) || this.cut.has(from.host)) return;
        if (from.spec.family === 'ipv4') to.onInput(parseIPv4Packet(Uint8Array.from(bytes)));
        else {
          const pkt: ReceivedPacket = { family: 'ipv6', src, dst, ttl: 255, payload: Uint8Array.from(bytes) };
          to.onInput({ ok: true, value: pkt });
        }
      });
    }
  }

  private sourceOf(from: Port, bytes: Uint8Array): string {
    if (from.spec.family === 'ipv4') {
      const p = parseIPv4Packet(bytes);
      return p.ok ? p.value.src : '';
    }
    for (const a of this.addrs.get(from.host) ?? []) if (/^fe80:/i.test(a)) return a;
    return '';
  }
}
