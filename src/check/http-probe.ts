/**
 * HTTP_GET / SSL_GET through undici (keepalived check_http.c, check_ssl.c).
 *
 * - Every url is fetched on a fresh connection; all must pass, in order; the first failure
 *   fails the attempt. A retry (after delay_before_retry) starts again at the url that
 *   failed, as keepalived retries the failing url (check_http.c epilog keeps `url_it` on
 *   REGISTER_CHECKER_RETRY), and goes on with the urls after it; a new check starts at the
 *   first url. No connection is reused between checks: the probe's undici Client has
 *   `pipelining: 0` (keep-alive off: undici sends `connection: close` and closes the
 *   socket after the response) and every request also asks `reset: true`.
 * - The connection is made by our own connector: `connect_ip`/`connect_port`, `bindto` /
 *   `bind_port` as the source, TLS without certificate verification (keepalived does not
 *   verify either), SNI only with `enable_sni`, and no TLS session resumption (keepalived
 *   does a full handshake every time, so a broken TLS stack is seen).
 * - The request is keepalived's: `GET path`, `User-Agent: KeepAliveClient`, `Host:` the
 *   url's or checker's virtualhost, else `ip:port` (`[v6]:port`). undici speaks HTTP/1.1
 *   only, so `http_protocol 1.0` is sent as 1.1 with `Connection: close`.
 * - Status must be in the url's ranges (`status 503` otherwise).
 * - Digest: MD5 of the response body as keepalived's genhash computes it (check_http.c
 *   http_process_response): the bytes after the header block, up to Content-Length when
 *   one is given. keepalived's default request is HTTP/1.0, which servers never answer
 *   chunked, so that is the de-chunked body undici hands us. The body read stops at
 *   `maxBodyBytes`: with a digest that is a failure (`body_too_large`), without one the
 *   rest is simply not read.
 * - A body the server ends (FIN) before its Content-Length is judged on the bytes that
 *   came, as keepalived's http_handle_response does on EOF: it logs the length mismatch
 *   (here a warning, once per url and difference) and checks status and digest; a reset
 *   (RST) during the body is a failure (`reset`), as keepalived's read error is.
 * - Each url must complete (connect, TLS, response headers and body) within
 *   connect_timeout, so one attempt takes at most urls × connect_timeout. keepalived
 *   applies connect_timeout to each I/O wait of a url instead, which lets a server that
 *   drips a byte at a time hold a check indefinitely.
 */
import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Client } from 'undici';
import type { Checker, HttpChecker, HttpUrl } from '../model/types.js';
import type { Probe, ProbeAttempt, ProbeContext } from './probe.js';
import { failed, passed, reasonOfError, type CheckOutcome } from './outcome.js';
import { sourceOptions } from './source-address.js';

/** keepalived's User-Agent (check_http.c request_template): servers' log filters know it. */
export const CHECK_USER_AGENT = 'KeepAliveClient';

/** True when code is inside one of the ranges (keepalived's status_code bitmap). */
export function statusAccepted(code: number, ranges: HttpUrl['statusCodes']): boolean {
  if (ranges.length === 0) return code >= 200 && code <= 299; // keepalived HTTP_DEFAULT_STATUS_CODE_MIN..MAX
  for (const r of ranges) if (code >= r.min && code <= r.max) return true;
  return false;
}

/** The Host header keepalived sends (check_http.c http_request_thread). */
export function hostHeader(c: HttpChecker, url: HttpUrl): string {
  const vhost = url.virtualhost ?? c.virtualhost;
  if (vhost) return vhost;
  return isIPv6(c.connectIp) ? `[${c.connectIp}]:${c.connectPort}` : `${c.connectIp}:${c.connectPort}`;
}

type Stage = 'connect' | 'response' | 'body';

const ignore = (): void => undefined;

/** How a body read ended. */
interface BodyEnd {
  /** Past maxBytes (the stream was then destroyed). */
  readonly tooLarge: boolean;
  /** The server closed the connection (FIN) before the body was complete. */
  readonly cutShort: boolean;
  readonly bytes: number;
}

/**
 * Reads a response body into `md5` (when given), stopping past `maxBytes`. A connection
 * the server closed (FIN) before the end resolves `cutShort` (keepalived reads to EOF and
 * judges what came); any other stream error, a reset included, rejects.
 */
function readBody(body: NodeJS.ReadableStream & { destroy(): void }, maxBytes: number, md5: Hash | null): Promise<BodyEnd> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    body.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        body.removeAllListeners('data');
        body.destroy();
        resolve({ tooLarge: true, cutShort: false, bytes });
        return;
      }
      md5?.update(chunk);
    });
    body.once('end', () => resolve({ tooLarge: false, cutShort: false, bytes }));
    body.once('error', (err: { code?: unknown }) => {
      // undici, measured: a FIN before the framing's end arrives as UND_ERR_SOCKET "other
      // side closed", or as UND_ERR_RES_CONTENT_LENGTH_MISMATCH when the response said
      // `Connection: close`; a RST arrives as ECONNRESET.
      if (err?.code === 'UND_ERR_SOCKET' || err?.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') resolve({ tooLarge: false, cutShort: true, bytes });
      else reject(err);
    });
    // closed without 'end' or 'error' (settled promises ignore this after 'end')
    body.once('close', () => reject(Object.assign(new Error('response body closed early'), { code: 'ECONNRESET' })));
  });
}

/** Probe for `HTTP_GET` and `SSL_GET`. */
export class HttpProbe implements Probe {
  private c: HttpChecker;
  private readonly ctx: ProbeContext;
  private client: Client | null = null;
  /** The connect_timeout the current Client was built with. */
  private clientTimeoutMs = 0;
  private closed = false;
  private readonly inflight = new Set<EventEmitter>();
  /** Set by the connector when the current url's connection (and TLS handshake) is up. */
  private connected = false;
  private warned = false;
  /** SNI for the url being fetched (enable_sni with a virtualhost that is a name). */
  private servername: string | undefined;
  /**
   * The current url's connection was reset (RST). undici reads a reset after a
   * `Connection: close` response as the end of the body, so the probe watches its own socket.
   */
  private sockReset = false;
  /** The url a retry starts at: the one the last attempt failed on. */
  private resumeAt = 0;
  /** Last body-length difference warned about, per url index (keepalived's url->len_mismatch). */
  private readonly lenMismatch = new Map<number, number>();

  constructor(checker: HttpChecker, ctx: ProbeContext) {
    this.c = checker;
    this.ctx = ctx;
  }

  private origin(): string {
    const scheme = this.c.kind === 'ssl' ? 'https' : 'http';
    const host = isIPv6(this.c.connectIp) ? `[${this.c.connectIp}]` : this.c.connectIp;
    return `${scheme}://${host}:${this.c.connectPort}`;
  }

  /** undici Client with our connector; one per probe, keep-alive off (see file comment). */
  private getClient(): Client {
    const c = this.c;
    const timeoutMs = c.timing.connectTimeoutMs;
    if (this.client && !this.client.destroyed && !this.client.closed) {
      if (this.clientTimeoutMs === timeoutMs) return this.client;
      this.dropClient(); // a reload changed connect_timeout, which the Client's own timers carry
    }
    this.clientTimeoutMs = timeoutMs;
    const connector = (_opts: unknown, cb: (...args: [null, Socket] | [Error, null]) => void): Socket => {
      const src = sourceOptions(c);
      let sock: Socket;
      let settled = false;
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        if (err) {
          sock.destroy();
          cb(err, null);
        } else {
          this.connected = true;
          cb(null, sock);
        }
      };
      if (c.kind === 'ssl') {
        const servername = this.servername;
        sock = tlsConnect({
          host: c.connectIp,
          port: c.connectPort,
          ...src,
          rejectUnauthorized: false,
          ...(servername ? { servername } : {}),
          ALPNProtocols: ['http/1.1'],
        });
        sock.once('secureConnect', () => settle(null));
      } else {
        sock = netConnect({ host: c.connectIp, port: c.connectPort, ...src });
        sock.once('connect', () => settle(null));
      }
      sock.setNoDelay(true);
      sock.once('error', (err) => settle(err));
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.sockReset = true;
      });
      // The attempt deadline covers this too; this timer only frees the socket early.
      const t = setTimeout(() => settle(Object.assign(new Error(`connect timeout ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), timeoutMs);
      return sock;
    };
    this.client = new Client(this.origin(), {
      connect: connector as never,
      pipelining: 0,
      // undici's own timers back up the per-url deadline (which fires first)
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return this.client;
  }

  async run(attempt?: ProbeAttempt): Promise<CheckOutcome> {
    const c = this.c;
    const clock = this.ctx.clock;
    if (c.bindIf && !c.bindTo && !this.warned) {
      this.warned = true;
      this.ctx.warn(`bind_if ${c.bindIf}: SO_BINDTODEVICE is not available; binding to the interface's address instead`, { checker: c.key });
    }
    const started = clock.now();
    if (c.urls.length === 0) return failed('error', 'no url to check', 0);
    const first = attempt?.retry ? Math.min(this.resumeAt, c.urls.length - 1) : 0;
    for (let i = first; i < c.urls.length; i++) {
      const url = c.urls[i]!;
      const o = await this.fetchUrl(url, i);
      if (!o.ok) {
        this.resumeAt = i;
        const detail = c.urls.length > 1 ? `GET ${url.path}: ${o.detail}` : o.detail;
        return failed(o.reason as Exclude<CheckOutcome['reason'], 'ok'>, detail, clock.now() - started);
      }
    }
    this.resumeAt = 0;
    return passed(clock.now() - started);
  }

  update(checker: Checker): void {
    // the next url fetched uses the new definition (getClient rebuilds the Client when
    // connect_timeout changed)
    if (checker.kind === 'http' || checker.kind === 'ssl') this.c = checker;
  }

  /** keepalived http_handle_response: a length mismatch is logged the first time it shows (per url and difference). */
  private noteCutShort(url: HttpUrl, index: number, contentLength: string | undefined, bytes: number): void {
    const expected = contentLength !== undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : null;
    const diff = expected === null ? -1 : expected - bytes;
    if (this.lenMismatch.get(index) === diff) return;
    this.lenMismatch.set(index, diff);
    const what = expected === null ? `the body ended early (${bytes} bytes received)` : `content_length (${expected}) does not match received bytes (${bytes})`;
    this.ctx.warn(`${this.c.kind === 'ssl' ? 'SSL_GET' : 'HTTP_GET'} ${url.path}: ${what}; judged on the bytes received, as keepalived does`, {
      checker: this.c.key,
      url: url.path,
      contentLength: expected,
      receivedBytes: bytes,
    });
  }

  private async fetchUrl(url: HttpUrl, index: number): Promise<CheckOutcome> {
    const c = this.c;
    const clock = this.ctx.clock;
    const started = clock.now();
    if (this.closed) return failed('error', 'checker stopped', 0);
    const timeoutMs = c.timing.connectTimeoutMs;
    // undici takes an EventEmitter as the signal: ~30 µs less CPU per check than an
    // AbortController/EventTarget (bench/checks-probes.ts: 216 → 188 µs).
    const ac = new EventEmitter();
    this.inflight.add(ac);
    const at: { stage: Stage } = { stage: 'connect' };
    let timedOut = false;
    this.connected = false;
    this.sockReset = false;
    const vhost = url.virtualhost ?? c.virtualhost;
    const name = vhost?.replace(/:\d+$/, '');
    this.servername = c.kind === 'ssl' && c.sni && name && isIP(name) === 0 ? name : undefined;
    const deadline = clock.setTimer(timeoutMs, () => {
      timedOut = true;
      if (at.stage === 'connect' && this.connected) at.stage = 'response';
      ac.emit('abort');
    });
    try {
      const res = await this.getClient().request({
        path: url.path,
        method: 'GET',
        headers: { host: hostHeader(c, url), 'user-agent': CHECK_USER_AGENT },
        signal: ac,
        reset: true,
      });
      at.stage = 'body';
      res.body.on('error', ignore); // we may destroy it early; its error is ours, not unhandled
      if (!statusAccepted(res.statusCode, url.statusCodes)) {
        res.body.destroy();
        return failed('status', `status ${res.statusCode}`, clock.now() - started);
      }
      const md5 = url.digest ? createHash('md5') : null;
      const end = await readBody(res.body, c.maxBodyBytes, md5);
      if (end.tooLarge) {
        if (md5) return failed('body_too_large', `body over ${c.maxBodyBytes} bytes`, clock.now() - started);
        return passed(clock.now() - started);
      }
      if (end.cutShort && this.sockReset) return failed('reset', 'ECONNRESET', clock.now() - started);
      if (end.cutShort) {
        const cl = res.headers['content-length'];
        this.noteCutShort(url, index, Array.isArray(cl) ? cl[0] : cl, end.bytes);
      } else this.lenMismatch.delete(index);
      if (md5) {
        const got = md5.digest('hex');
        if (got !== url.digest!.toLowerCase()) return failed('digest_mismatch', `digest ${got} expected ${url.digest!.toLowerCase()}`, clock.now() - started);
      }
      return passed(clock.now() - started);
    } catch (err) {
      // After a failed or aborted request undici re-dials at once for it (measured: one
      // extra connection per timed-out check); a new Client for the next check avoids that.
      this.dropClient();
      if (this.closed) return failed('error', 'checker stopped', clock.now() - started);
      if (timedOut) {
        const what = at.stage === 'connect' ? 'no connection' : at.stage === 'response' ? 'no response' : 'body incomplete';
        return failed('timeout', `${what} within ${timeoutMs} ms`, clock.now() - started);
      }
      const r = reasonOfError(err);
      return failed(r.reason, r.detail, clock.now() - started);
    } finally {
      deadline.cancel();
      this.inflight.delete(ac);
    }
  }

  private dropClient(): void {
    const cl = this.client;
    this.client = null;
    if (cl) cl.destroy().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    for (const ac of this.inflight) ac.emit('abort');
    this.inflight.clear();
    this.dropClient();
  }
}
