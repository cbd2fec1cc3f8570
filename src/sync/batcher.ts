/**
 * The master's message builder: entries (already in wire format, from the workers' rings)
 * are appended to the current message as `ip_vs_sync_conn()` does: 4-byte padding between
 * entries, a new message when the next entry would pass `maxlen` (the buffer is
 * max(entry + header, sync_maxlen) bytes, so one entry always fits), and a message that is
 * not full is sent once it is IPVS_SYNC_FLUSH_TIME (2 s) old (`get_curr_sync_buff()` in
 * `next_sync_buff()`). lvsd also closes a message at 255 entries: `nr_conns` is one byte,
 * and the kernel, which does not check, would wrap it with a large maxlen.
 *
 * Pure: time comes in as milliseconds; each finished message is a fresh Uint8Array.
 */
import { MESG_HEADER_LEN, writeHeader } from './codec.js';

/** IPVS_SYNC_FLUSH_TIME (HZ * 2): longest a non-full message waits. */
export const SYNC_FLUSH_TIME_MS = 2000;
/** nr_conns is a u8. */
const MAX_ENTRIES = 255;

/** Builds version 1 messages from entries. */
export class MessageBuilder {
  private readonly syncId: number;
  private readonly maxLen: number;
  private buf: Uint8Array | null = null;
  private dv: DataView | null = null;
  private size = 0;
  private count = 0;
  private firstUseMs = 0;

  constructor(syncId: number, maxLen: number) {
    this.syncId = syncId;
    this.maxLen = maxLen;
  }

  /** Entries in the message being built. */
  get pendingEntries(): number {
    return this.count;
  }

  /**
   * Appends one entry (bytes[off, off+len)); returns the message it completed, if the entry
   * did not fit in the current one (the entry then starts the next), else null.
   */
  add(bytes: Uint8Array, off: number, len: number, nowMs: number): Uint8Array | null {
    let done: Uint8Array | null = null;
    let pad = this.buf ? (4 - (this.size & 3)) & 3 : 0;
    if (this.buf && (this.size + pad + len > this.buf.byteLength || this.count >= MAX_ENTRIES)) {
      done = this.take();
      pad = 0;
    }
    if (!this.buf) {
      const cap = Math.max(len + MESG_HEADER_LEN, this.maxLen);
      this.buf = new Uint8Array(cap);
      this.dv = new DataView(this.buf.buffer);
      this.size = MESG_HEADER_LEN;
      this.count = 0;
      this.firstUseMs = nowMs;
    }
    // The padding bytes are zero (a fresh buffer).
    this.size += pad;
    this.buf.set(bytes.subarray(off, off + len), this.size);
    this.size += len;
    this.count++;
    return done;
  }

  /** The current message if it is at least `ageMs` old (IPVS_SYNC_FLUSH_TIME), else null. */
  takeIfOlder(nowMs: number, ageMs = SYNC_FLUSH_TIME_MS): Uint8Array | null {
    if (!this.buf || this.count === 0 || nowMs - this.firstUseMs < ageMs) return null;
    return this.take();
  }

  /** The current message whatever its age (role change, stop), or null when empty. */
  take(): Uint8Array | null {
    if (!this.buf || this.count === 0) {
      this.buf = null;
      return null;
    }
    writeHeader(this.dv!, 0, this.syncId, this.size, this.count);
    const out = this.buf.subarray(0, this.size);
    this.buf = null;
    this.dv = null;
    this.size = 0;
    this.count = 0;
    return out;
  }

  /** Forgets the message being built (the master role stopped: stop_sync_thread frees it). */
  discard(): number {
    const n = this.count;
    this.buf = null;
    this.dv = null;
    this.size = 0;
    this.count = 0;
    return n;
  }
}
