/**
 * Ethernet address helpers for the hot path: MACs are held as a 16-bit high part and a
 * 32-bit low part (two numbers, no Uint8Array per address) and written with byte stores.
 */

/** High 16 bits of the MAC at b[o..o+6). */
export function macHiAt(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Low 32 bits of the MAC at b[o..o+6). */
export function macLoAt(b: Uint8Array, o: number): number {
  return ((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0;
}

/** Writes a MAC given as (hi, lo) at b[o]. */
export function writeMac(b: Uint8Array, o: number, hi: number, lo: number): void {
  b[o] = hi >>> 8;
  b[o + 1] = hi & 255;
  b[o + 2] = lo >>> 24;
  b[o + 3] = (lo >>> 16) & 255;
  b[o + 4] = (lo >>> 8) & 255;
  b[o + 5] = lo & 255;
}

/** Sets the destination and source MACs of the frame at `frame`. */
export function setMacs(b: Uint8Array, frame: number, dstHi: number, dstLo: number, srcHi: number, srcLo: number): void {
  writeMac(b, frame, dstHi, dstLo);
  writeMac(b, frame + 6, srcHi, srcLo);
}

/** (hi, lo) of a 6-byte MAC. */
export function macParts(mac: Uint8Array): { hi: number; lo: number } {
  return { hi: macHiAt(mac, 0), lo: macLoAt(mac, 0) };
}
