/**
 * The port through which VRRP adverts leave and arrive. The real adapter is
 * src/io/vrrp-socket.ts (raw sockets, IP protocol 112); tests use the in-memory wire in
 * src/vrrp/memory-transport.ts. VRRP code imports only these types.
 */
import type { Family } from '../lib/ip.js';
import type { Decoded, ReceivedPacket } from './packet.js';

/** One channel per (family, interface): every instance on that link shares it, demultiplexed by VRID. */
export interface VrrpChannelSpec {
  readonly family: Family;
  readonly ifname: string;
  readonly ifindex: number;
  /** Multicast group to join on the interface; null when every instance there is unicast. */
  readonly multicastGroup: string | null;
}

/** What a channel hands up: a parsed packet, or why the IP layer could not be parsed. */
export type ChannelInput = Decoded<ReceivedPacket> & {
  /** Sender's address when the socket knows it (a packet that did not parse has no other). */
  readonly source?: string;
};

/** An open channel. */
export interface VrrpChannel {
  readonly spec: VrrpChannelSpec;
  /**
   * Sends one advert to `dst`. IPv4: `packet` is the whole IPv4 datagram (lvsd writes the
   * header, as keepalived does with IP_HDRINCL). IPv6: the VRRP message only; the kernel
   * writes the header and the checksum. Never throws: `done` gets the error, if any.
   */
  send(packet: Uint8Array, dst: string, done?: (err: Error | null) => void): void;
  /** Joins or leaves the multicast group after open (instances added or removed on reload). */
  setMulticast(group: string | null): void;
  close(): void;
}

/** Opens channels. */
export interface VrrpTransport {
  open(spec: VrrpChannelSpec, onInput: (input: ChannelInput) => void, onError: (err: Error) => void): VrrpChannel;
}
