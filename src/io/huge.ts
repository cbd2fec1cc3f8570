/**
 * Memory and thread helpers from the addon for the forwarding workers: large tables backed
 * by transparent huge pages, and thread names. Both degrade quietly when the addon is not
 * built (plain ArrayBuffers, unnamed threads).
 */
import { loadNative } from './native.js';

/**
 * An allocator of zeroed ArrayBuffers backed by 2 MiB transparent huge pages where the
 * kernel allows it (/sys/kernel/mm/transparent_hugepage/enabled "madvise" or "always"), for
 * the connection table: at 1 M connections it spans ~150 MB, and with 4 KiB pages nearly
 * every random lookup also misses the TLB (measured in bench/forward.ts). Null without the addon.
 */
export function hugeAlloc(): ((bytes: number) => ArrayBuffer) | null {
  try {
    const n = loadNative();
    return (bytes: number) => n.allocHuge(bytes);
  } catch {
    return null;
  }
}

/** Names the calling thread (15 bytes at most), e.g. `lvsd-fwd-0`; no-op without the addon. */
export function setThreadName(name: string): void {
  try {
    loadNative().setThreadName(name);
  } catch {
    /* unnamed */
  }
}
