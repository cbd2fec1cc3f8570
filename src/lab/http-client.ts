/**
 * The lab's probing client: one new TCP connection and one HTTP request at a steady rate,
 * each recorded with its send time, latency, result and the real server that answered.
 *
 *   node dist/lab/http-client.js --target 198.18.0.10:80 [--interval-ms 10] [--timeout-ms 800]
 *                                [--duration-ms N] [--path /]
 *
 * stdout, one JSON object per line:
 *   {"ready":EPOCH_MS}
 *   {"seq":0,"sent":EPOCH_MS,"ms":1.9,"rs":"rs1"}                 answered (200, body = name)
 *   {"seq":1,"sent":EPOCH_MS,"ms":800,"err":"timeout","port":41234,"stage":"syn"}
 *                                      unanswered / failed: the local port, and whether the
 *                                      connection was made (`connected`) or not (`syn`)
 *   {"done":true,"sent":N}
 * It stops sending after --duration-ms, on SIGTERM/SIGINT, or when stdin is a pipe and closes
 * (so it never outlives the process that started it), lets the requests in flight finish, then exits.
 *
 * A request that gets no answer within --timeout-ms counts as failed. The default (800 ms)
 * is below Linux's first SYN retransmission (1 s), so a SYN lost during a failover is a
 * failed request, not a slow success that would hide the gap.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fstatSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Options of the probing client. */
export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly durationMs: number | null;
  readonly path: string;
}

/** One request as the client recorded it. */
export interface RequestRecord {
  readonly seq: number;
  /** When the connection was started (epoch ms, fractional). */
  readonly sent: number;
  /** Until the answer or the failure (ms). */
  readonly ms: number;
  /** The real server's name, when answered. */
  readonly rs?: string;
  /** Why it failed: timeout, refused, reset, unreachable, `status 503`, or an errno code. */
  readonly err?: string;
  /** The client's local port of a failed request (to find its packets in a capture); absent when no port was bound. */
  readonly port?: number;
  /** A failed request's TCP progress: `syn` (never connected), `connected` (request written, no complete answer). */
  readonly stage?: 'syn' | 'connected';
}

/** Parses the client's command line. */
export function parseClientArgs(argv: string[]): ClientOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' }, 'interval-ms': { type: 'string' }, 'timeout-ms': { type: 'string' },
      'duration-ms': { type: 'string' }, path: { type: 'string' },
    },
    strict: true,
  });
  const target = values.target;
  if (!target) throw new Error('usage: http-client --target ADDR:PORT [--interval-ms 10] [--timeout-ms 800] [--duration-ms N] [--path /]');
  const i = target.lastIndexOf(':');
  const num = (v: string | undefined, def: number, what: string) => {
    const n = v === undefined ? def : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${what}: expected a positive number, got ${v}`);
    return n;
  };
  return {
    host: target.slice(0, i),
    port: num(target.slice(i + 1), 80, '--target port'),
    intervalMs: num(values['interval-ms'], 10, '--interval-ms'),
    timeoutMs: num(values['timeout-ms'], 800, '--timeout-ms'),
    durationMs: values['duration-ms'] === undefined ? null : num(values['duration-ms'], 0, '--duration-ms'),
    path: values.path ?? '/',
  };
}

const now = () => performance.timeOrigin + performance.now();

function reasonOf(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'refused';
    case 'ECONNRESET': case 'EPIPE': return 'reset';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'unreachable';
    case 'ETIMEDOUT': return 'timeout';
    default: return err.code ?? 'error';
  }
}

/** One request on a new connection; resolves with its record (never rejects). */
export function oneRequest(o: ClientOptions, seq: number): Promise<RequestRecord> {
  return new Promise((resolve) => {
    const sent = now();
    let done = false;
    let connected = false;
    let localPort: number | undefined;
    const chunks: Buffer[] = [];
    const sock = connect({ host: o.host, port: o.port, noDelay: true });
    // The port is bound once the connect call went out (next tick for a literal address);
    // read it then: after a reset the socket no longer has it.
    setImmediate(() => { localPort ??= sock.localPort; });
    const finish = (r: { rs?: string; err?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      localPort ??= sock.localPort;
      const failure = r.err === undefined ? {} : { ...(localPort ? { port: localPort } : {}), stage: connected ? 'connected' as const : 'syn' as const };
      sock.destroy();
      resolve({ seq, sent: Math.round(sent * 100) / 100, ms: Math.round((now() - sent) * 100) / 100, ...r, ...failure });
    };
    const timer = setTimeout(() => finish({ err: 'timeout' }), o.timeoutMs);
    sock.once('connect', () => {
      connected = true;
      localPort ??= sock.localPort;
      sock.write(`GET ${o.path} HTTP/1.1\r\nHost: ${o.host}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.once('error', (e) => finish({ err: reasonOf(e) }));
    sock.once('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return finish({ err: text.length ? 'bad_response' : 'reset' });
      if (m[1] !== '200') return finish({ err: `status ${m[1]}` });
      // The lab's real servers name themselves in a header (and in the body).
      const name = /\r\nx-real-server: *([^\r\n]+)/i.exec(text)?.[1]?.trim();
      finish({ rs: name ?? (text.slice(text.indexOf('\r\n\r\n') + 4).trim() || '?') });
    });
  });
}

/** Runs the client until its duration, a signal or the end of stdin. */
export function runClient(o: ClientOptions): void {
  const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
  const t0 = now();
  let seq = 0;
  let inFlight = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    const end = () => {
      out({ done: true, sent: seq });
      process.exit(0);
    };
    if (inFlight === 0) end();
    else setInterval(() => { if (inFlight === 0) end(); }, 5);
    setTimeout(end, o.timeoutMs + 500).unref();
  };
  const tick = () => {
    if (stopping) return;
    if (o.durationMs !== null && now() - t0 >= o.durationMs) return stop();
    inFlight++;
    void oneRequest(o, seq++).then((r) => {
      inFlight--;
      out(r);
    });
    // Steady schedule from t0: a late tick does not shift every later request.
    timer = setTimeout(tick, Math.max(0, t0 + seq * o.intervalMs - now()));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  let stdinIsPipe = false;
  try { const st = fstatSync(0); stdinIsPipe = st.isFIFO() || st.isSocket(); } catch { /* no stdin */ }
  if (stdinIsPipe) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
  process.stdout.on('error', () => process.exit(0));
  out({ ready: Math.round(t0) });
  tick();
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  try {
    runClient(parseClientArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
