/**
 * Loads the project's N-API addon (native/, built by native/build.mjs) and types its
 * surface. Only src/io adapters import this; everything else uses af-packet.ts,
 * announce.ts and sd-notify.ts. The addon is loaded lazily so that code paths that never
 * touch a socket (unit tests, --test) work without a build.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LvsdError } from '../lib/errors.js';

/** Per-frame metadata slots (stride META_STRIDE in the meta Uint32Array). */
export const META_PKTTYPE = 0;
export const META_IFINDEX = 1;
export const META_STATUS = 2;
export const META_VLAN = 3;

/** The addon's PacketSocket class (see docs/native.md for every member). */
export interface NativePacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  readonly lastErrno: number;
  readonly closed: boolean;
  readonly vnetHdr: boolean;
  setRxBuffers(buf: Uint8Array, slotSize: number, lengths: Uint32Array, meta: Uint32Array): number;
  recv(max?: number): number;
  setTxBuffers(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): number;
  send(count: number, first?: number): number;
  ringBuffer(): ArrayBuffer;
  setRingArrays(offsets: Uint32Array, lengths: Uint32Array, meta: Uint32Array): number;
  ringNext(): number;
  addMembership(kind: 'promisc' | 'allmulti' | 'multicast', mac?: Uint8Array): void;
  dropMembership(kind: 'promisc' | 'allmulti' | 'multicast', mac?: Uint8Array): void;
  stats(): { packets: number; drops: number; freezes: number };
  setFanoutProgram(program: Uint32Array): void;
  start(onReadable: (status: number) => void): void;
  stop(): void;
  close(): void;
}

/** Options the addon's PacketSocket constructor accepts. */
export interface NativeSocketOptions {
  protocol?: number;
  ignoreOutgoing?: boolean;
  promisc?: boolean;
  vnetHdr?: boolean;
  auxdata?: boolean;
  rcvbuf?: number;
  sndbuf?: number;
  qdiscBypass?: boolean;
  txRing?: { frameCount?: number; frameSize?: number };
  fanout?: { group: number; mode?: 'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'qm' | 'cbpf'; rollover?: boolean };
  ring?: { version?: 2 | 3; blockSize?: number; blockCount?: number; retireMs?: number; frameSize?: number; frameCount?: number };
}

/** The addon's exports. */
export interface NativeAddon {
  PacketSocket: new (ifindex: number, opts?: NativeSocketOptions) => NativePacketSocket;
  ifInfo(name: string): { index: number; mac: Buffer; hwType: number; mtu: number; flags: number };
  setNetns(path: string | null): void;
  sdNotify(msg: string): boolean;
  allocHuge(bytes: number): ArrayBuffer;
  setThreadName(name: string): void;
  readonly META_STRIDE: number;
  readonly VNET_HDR_LEN: number;
  readonly MAX_BATCH: number;
}

let cached: NativeAddon | null = null;

/**
 * The loaded addon. Throws LvsdError ERR_NATIVE_NOT_BUILT when native/build/Release has
 * no lvsd_native.node (run `node native/build.mjs`).
 */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  // src/io/native.ts (tsx) and dist/src/io/native.js (tsc) sit at different depths.
  const candidates = ['../../native/build/Release/lvsd_native.node', '../../../native/build/Release/lvsd_native.node'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new LvsdError('ERR_NATIVE_NOT_BUILT', `native addon not built (looked for ${candidates.join(', ')}); run: node native/build.mjs`);
  cached = createRequire(import.meta.url)(path) as NativeAddon;
  return cached;
}

/** True when the addon is built and loadable. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}
