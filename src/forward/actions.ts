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
