/**
 * The ports through which pure logic reaches the kernel. The composition root
 * (src/daemon) injects real adapters; tests inject the in-memory doubles in
 * src/io/doubles.ts. Protocol code imports only these types, never an adapter.
 */
import type { CoreVip, ScriptCommand, ScriptUser } from '../model/types.js';
import type { Family } from '../lib/ip.js';

/** A network interface as netlink reports it. */
export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  /** Lower-case colon-separated MAC ('' for links without one). */
  readonly mac: string;
  /** Administratively up (IFF_UP). */
  readonly adminUp: boolean;
  /** Operationally up: IFF_RUNNING / carrier (what track_interface watches). */
  readonly operUp: boolean;
  readonly mtu: number;
}

/** An address on an interface. */
export interface AddressInfo {
  readonly ifname: string;
  readonly address: string;
  readonly family: Family;
  readonly prefixLen: number;
  readonly label: string | null;
}

/** What to add or remove (keepalived's `virtual_ipaddress` line). */
export interface AddressSpec {
  readonly ifname: string;
  readonly address: string;
  readonly prefixLen: number;
  readonly label?: string | null;
  readonly brd?: string | null;
  readonly scope?: string | null;
}

/** A neighbour (ARP/ND) entry. */
export interface NeighbourInfo {
  readonly ifname: string;
  readonly address: string;
  readonly mac: string;
  /** Kernel NUD state name: 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'permanent' | 'noarp' | 'incomplete'. */
  readonly state: string;
}

/** Netlink: links, addresses, neighbours (ARCHITECTURE D2: netlink@0.3.0 behind this interface). */
export interface NetlinkPort {
  listLinks(): Promise<LinkInfo[]>;
  getLink(name: string): Promise<LinkInfo | null>;
  /** Calls fn on every link change (new, changed, removed: operUp false). Returns unsubscribe. */
  onLinkChange(fn: (link: LinkInfo) => void): () => void;
  listAddresses(ifname?: string): Promise<AddressInfo[]>;
  /** Adds an address; already present is success. */
  addAddress(spec: AddressSpec): Promise<void>;
  /** Removes an address; already absent is success. */
  delAddress(spec: AddressSpec): Promise<void>;
  /** The kernel's neighbour entry for address on ifname, or null. */
  getNeighbour(ifname: string, address: string): Promise<NeighbourInfo | null>;
  listNeighbours(ifname?: string): Promise<NeighbourInfo[]>;
  /** Asks the kernel to resolve address (creates an incomplete entry that it then probes). */
  resolveNeighbour(ifname: string, address: string): Promise<void>;
  /** Calls fn on every neighbour change. Returns unsubscribe. */
  onNeighbourChange(fn: (n: NeighbourInfo) => void): () => void;
  close(): Promise<void>;
}

/** Sends gratuitous ARP (IPv4) / unsolicited neighbour advertisements (IPv6). */
export interface AnnouncePort {
  /**
   * Sends one gratuitous ARP or unsolicited NA per address out of ifname, from srcMac
   * (default: the interface's MAC). Never throws: failures are counted and returned.
   */
  announce(ifname: string, addresses: readonly string[], srcMac?: string): { sent: number; failed: number };
}

/**
 * The forwarding core's side of VIP ownership (ARCHITECTURE D4): the core answers for a
 * claimed VIP (ARP/ND, ICMP echo, forwarding) and stops when it is released.
 */
export interface CoreVipPort {
  claim(instance: string | null, vips: readonly CoreVip[]): void;
  release(instance: string | null, vips: readonly CoreVip[]): void;
}

/** How a script run ended. */
export interface ScriptResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** First bytes of stdout+stderr, for logs. */
  readonly output: string;
  /** Set when it could not be started at all (ENOENT, EACCES, unknown user). */
  readonly spawnError: string | null;
}

/** Runs notify, track and check scripts without blocking the event loop. */
export interface ScriptPort {
  run(
    cmd: ScriptCommand,
    opts: {
      readonly timeoutMs: number;
      readonly user?: ScriptUser | null;
      /** Extra argv appended (keepalived's notify arguments). */
      readonly extraArgs?: readonly string[];
      readonly env?: Readonly<Record<string, string>>;
    },
  ): Promise<ScriptResult>;
}
