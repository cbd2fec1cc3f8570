/**
 * The result of one check attempt. Probes never throw: every failure becomes an outcome
 * with a reason code (the `CheckReason` union of src/events/types.ts) and a short detail
 * an operator can act on (`status 503`, `ECONNREFUSED`, `exit 1`).
 */
import type { CheckReason } from '../events/types.js';

export type { CheckReason };

/** One attempt's result. */
export interface CheckOutcome {
  readonly ok: boolean;
  /** 'ok' when it passed, else why it failed. */
  readonly reason: CheckReason;
  /** Human detail: 'status 503', 'ECONNREFUSED', 'exit 1', '' when nothing to add. */
  readonly detail: string;
  /** Time the attempt took (connect to last byte, or script run time). */
  readonly latencyMs: number;
  /** misc_dynamic only: the weight the script asked for (exit code − 2). */
  readonly weight?: number;
  /** MISC_CHECK only: the script's exit status, when it exited (not killed, not unstartable). */
  readonly exitCode?: number;
}

/** A passed attempt. */
export function passed(latencyMs: number, detail = '', weight?: number): CheckOutcome {
  return weight === undefined ? { ok: true, reason: 'ok', detail, latencyMs } : { ok: true, reason: 'ok', detail, latencyMs, weight };
}

/** A failed attempt. */
export function failed(reason: Exclude<CheckReason, 'ok'>, detail: string, latencyMs: number): CheckOutcome {
  return { ok: false, reason, detail, latencyMs };
}

/**
 * Maps a socket/TLS/undici error to a reason code. The detail keeps the error's code (or
 * its message when it has none) so the log line says exactly what the kernel said.
 */
export function reasonOfError(err: unknown): { reason: Exclude<CheckReason, 'ok'>; detail: string } {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // undici wraps the socket's own error in `cause` for some failures; prefer the errno.
  const cause = e?.cause as { code?: unknown } | undefined;
  const inner = typeof cause?.code === 'string' ? cause.code : '';
  const c = inner && code.startsWith('UND_ERR') && code !== 'UND_ERR_CONNECT_TIMEOUT' ? inner : code;
  const detail = c || message;
  switch (c) {
    case 'ECONNREFUSED':
      return { reason: 'refused', detail };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET': // "other side closed" before a full response
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return { reason: 'reset', detail: c === 'UND_ERR_SOCKET' ? `${c}: ${message}` : detail };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { reason: 'timeout', detail };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
    case 'EINVAL':
      return { reason: 'unreachable', detail };
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return { reason: 'body_too_large', detail };
    default:
      break;
  }
  if (c.startsWith('ERR_SSL') || c.startsWith('ERR_TLS') || c === 'EPROTO' || /SSL|TLS|certificate|handshake/i.test(message)) {
    return { reason: 'tls_error', detail };
  }
  return { reason: 'error', detail };
}
