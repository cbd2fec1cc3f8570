/**
 * What the pipeline decided for a frame. The worker loop acts on it: nothing (the kernel
 * has its own copy of every frame the AF_PACKET tap sees), count a drop, or queue the
 * pipeline's output frame (`outIf`, `outOff`, `outLen`) on the egress socket.
 */

/** Not the core's business: the kernel handles its copy. */
export const A_IGNORE = 0;
/** The core's frame, dropped (counted by reason). */
export const A_DROP = 1;
/** Send the output frame described by the pipeline's out* fields. */
export const A_TX = 2;
/**
 * Send several frames, in order, out of `outIf`: the pipeline's `outOffs/outLens[0..outCount)`
 * (TUN's software segmentation and fragmentation, in the pipeline's segment area). The worker
 * sends them at once (the segment area is reused by the next frame that needs it).
 */
export const A_TX_MULTI = 3;

/** Most frames one A_TX_MULTI may describe (a 64 KiB GSO super-frame cut at gso_size ≥ 64). */
export const MAX_MULTI = 1100;
/** Bytes of headroom a TUN frame needs before its offset to be encapsulated in place (IPv6 + UDP + GUE with remote checksum: 60). */
export const TUN_HEADROOM = 64;
