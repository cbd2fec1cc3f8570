/**
 * Messages between the forwarding subsystem (main thread) and its workers (ARCHITECTURE
 * D5): model changes, VIP claims, health and neighbours go down; answers to queries and
 * neighbour requests come up. Counters do not travel here: they are in the shared buffer.
 */
import type { CoreVip, Model } from '../model/types.js';
import type { IfaceSpec, RealHealth, StatsSlots, TraceResult, ConnRow } from './pipeline.js';
import type { StatsLayout } from './stats.js';

/**
 * The data plane's I/O choices. Defaults (`IO_DEFAULTS` in subsystem.ts) are what
 * bench/forward.ts measured best; docs/forwarding.md "Receive path" has the figures.
 */
export interface IoOptions {
  /** Receive path: recvmmsg into slots, or a TPACKET_V2 / TPACKET_V3 ring (frames copied to slots). */
  readonly rx?: 'recvmmsg' | 'v2' | 'v3';
  /** PACKET_QDISC_BYPASS on every socket (sends skip the egress qdisc). */
  readonly qdiscBypass?: boolean;
  /** Send through a TPACKET_V2 transmit ring (one send() per batch) instead of sendmmsg; not with rx 'v3'. */
  readonly txRing?: boolean;
  /** Receive until the socket is empty, instead of stopping at the first partial batch. */
  readonly drainAll?: boolean;
  /** After the last frame, keep polling the ring this long (µs) before sleeping in epoll (ring paths only). */
  readonly spinUs?: number;
  /** Connection table on transparent huge pages (src/io/huge.ts). */
  readonly hugePages?: boolean;
}

/** What a worker is started with (workerData). */
export interface WorkerInit {
  readonly index: number;
  readonly workers: number;
  /** Interfaces in slot order (MACs as text). */
  readonly ifaces: readonly (Omit<IfaceSpec, 'mac'> & { readonly mac: string })[];
  readonly capacity: number;
  readonly tickMs: number;
  readonly stats: SharedArrayBuffer;
  readonly layout: StatsLayout;
  /** PACKET_FANOUT group id (used when workers > 1). */
  readonly fanoutGroup: number;
  /** Frames per receive batch. */
  readonly batch: number;
  /** Use the TPACKET_V3 ring instead of recvmmsg (older spelling of io.rx 'v3'). */
  readonly ring: boolean;
  /** I/O choices, resolved (every field set). */
  readonly io: Required<IoOptions>;
  /** The fanout program (several workers): see fanout-program.ts; null with one worker. */
  readonly fanoutProgram: Uint32Array | null;
  /** Network namespace path to open sockets in (tests and benches); null = the current one. */
  readonly netns: string | null;
  readonly seed: number;
}

/** Main → worker. */
export type ToWorker =
  | { readonly type: 'model'; readonly model: Model; readonly slots: StatsSlots; readonly fanoutProgram?: Uint32Array | null }
  | { readonly type: 'claim'; readonly instance: string | null; readonly vips: readonly CoreVip[]; readonly claimed: boolean }
  | { readonly type: 'health'; readonly service: string; readonly real: string; readonly health: RealHealth }
  | { readonly type: 'quorum'; readonly service: string; readonly up: boolean }
  | { readonly type: 'neigh'; readonly address: string; readonly mac: string | null }
  /** The kernel's route to a real server outside the connected networks (null: none). */
  | { readonly type: 'route'; readonly address: string; readonly route: { readonly ifname: string; readonly gateway: string | null } | null }
  | { readonly type: 'trace'; readonly id: number; readonly proto: 'tcp' | 'udp'; readonly src: string; readonly sport: number; readonly dst: string; readonly dport: number }
  | { readonly type: 'conns'; readonly id: number; readonly limit: number }
  /**
   * Connection sync (src/sync/): this worker's ring and counters (null: off), whether the
   * master role runs, and the sync_threshold rules.
   */
  | { readonly type: 'sync'; readonly ring: SharedArrayBuffer | null; readonly master: boolean; readonly rules: { readonly threshold: number; readonly period: number } }
  /** Connection sync, backup role: entries from the peer for this worker's clients (wire format, 4-byte aligned). */
  | { readonly type: 'sync-conns'; readonly bytes: Uint8Array }
  | { readonly type: 'stop' };

/** Worker → main. */
export type FromWorker =
  | { readonly type: 'ready'; readonly index: number; readonly ring: boolean; readonly vnet: boolean }
  | { readonly type: 'error'; readonly index: number; readonly message: string }
  | { readonly type: 'problems'; readonly index: number; readonly problems: readonly string[] }
  | { readonly type: 'neigh-request'; readonly index: number; readonly requests: readonly { address: string; ifname: string | null }[] }
  | { readonly type: 'trace'; readonly id: number; readonly result: TraceResult }
  | { readonly type: 'conns'; readonly id: number; readonly rows: readonly ConnRow[]; readonly total: number; readonly index?: number }
  | { readonly type: 'stopped'; readonly index: number };

/**
 * A data-plane worker as the subsystem drives it: a node:worker_threads Worker, or an
 * in-process double in tests (ForwardingDeps.spawnWorker). 'message' carries FromWorker,
 * 'error' an Error, 'exit' the exit code.
 */
export interface WorkerHandle {
  postMessage(m: ToWorker): void;
  on(event: 'message', fn: (m: FromWorker) => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
  terminate(): Promise<number>;
}
