/**
 * What connection sync needs from the outside, injected by the composition root: a UDP
 * multicast socket to send on and one to receive on (src/io/sync-socket.ts over node:dgram),
 * and the interface MTU. `MemorySyncNet` connects endpoints in memory for tests.
 */
import type { Family } from '../lib/ip.js';

/** Where sync messages go: the group, port and TTL on an interface. */
export interface SyncEndpoint {
  readonly interface: string;
  readonly family: Family;
  readonly group: string;
  readonly port: number;
  readonly ttl: number;
}

/** The master's socket (make_send_sock: bound to the interface's address, loopback off, TTL set). */
export interface SyncSender {
  /** Sends one message to the group; errors are reported to the opener's onError. */
  send(msg: Uint8Array): void;
  close(): Promise<void>;
}

/** The backup's socket (make_receive_sock: bound to the group and port, joined on the interface). */
export interface SyncReceiver {
  close(): Promise<void>;
}

/** Opens sync sockets. */
export interface SyncSocketPort {
  openSender(ep: SyncEndpoint, onError: (e: Error) => void): Promise<SyncSender>;
  openReceiver(ep: SyncEndpoint, onMessage: (msg: Uint8Array) => void, onError: (e: Error) => void): Promise<SyncReceiver>;
  /** The interface's MTU, or null when it does not exist. */
  interfaceMtu(name: string): Promise<number | null>;
}

/**
 * An in-memory multicast segment: every sender's message reaches every receiver on the
 * same group and port except the sender's own node (IP_MULTICAST_LOOP is off), in the
 * order sent, delivered synchronously or when `flush()` runs (`deferred`).
 */
export class MemorySyncNet {
  private readonly receivers: { node: string; ep: SyncEndpoint; fn: (m: Uint8Array) => void }[] = [];
  private readonly queue: (() => void)[] = [];
  /** Every message sent, by node. */
  readonly sent: { node: string; msg: Uint8Array }[] = [];
  /** Drop messages while true (a partitioned link). */
  partitioned = false;
  deferred = false;

  /** The SyncSocketPort of one node (director). */
  port(node: string, mtu = 1500): SyncSocketPort {
    return {
      openSender: async (ep) => ({
        send: (msg) => {
          const copy = msg.slice();
          this.sent.push({ node, msg: copy });
          if (this.partitioned) return;
          const targets = this.receivers.filter((r) => r.node !== node && r.ep.group === ep.group && r.ep.port === ep.port);
          const deliver = () => { for (const r of targets) r.fn(copy); };
          if (this.deferred) this.queue.push(deliver);
          else deliver();
        },
        close: async () => {},
      }),
      openReceiver: async (ep, fn) => {
        const rec = { node, ep, fn };
        this.receivers.push(rec);
        return { close: async () => { const i = this.receivers.indexOf(rec); if (i >= 0) this.receivers.splice(i, 1); } };
      },
      interfaceMtu: async () => mtu,
    };
  }

  /** Delivers deferred messages. */
  flush(): void {
    while (this.queue.length) this.queue.shift()!();
  }

  /** Receivers open (tests). */
  get receiverCount(): number {
    return this.receivers.length;
  }
}
