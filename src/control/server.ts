/**
 * The control socket: a unix stream socket (mode 0600) speaking JSON lines.
 *   request  {"id": 1, "cmd": "status", "args": {}}
 *   response {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {"code", "message"}}
 * The special command `watch` streams every event as {"id", "event": {...}} lines until the
 * client closes. Malformed, oversized or unknown requests get an error with a code; nothing a
 * client sends can crash the daemon. Every refusal is a line with a code before the server
 * hangs up: a client past MAX_CLIENTS (ERR_CONTROL_BUSY), a request line over
 * MAX_REQUEST_BYTES (ERR_CONTROL_TOO_LARGE: the framing of the rest cannot be trusted), a
 * connection idle for the idle timeout with no request in progress and no `watch`
 * (ERR_CONTROL_IDLE).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { LvsdError } from '../lib/errors.js';
import type { EventBus } from '../events/bus.js';
import { fieldsOf } from '../events/log-sink.js';
import { ControlError, type CommandRegistry } from './registry.js';

/** Longest request line accepted (bytes). */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Concurrent client connections served; the next one is answered ERR_CONTROL_BUSY and closed. */
export const MAX_CLIENTS = 64;
/** A connection with no request in progress and no `watch` is closed after this long (ms). */
export const IDLE_TIMEOUT_MS = 60_000;

/** A response line. */
export type ControlResponse =
  | { id: unknown; ok: true; result: unknown }
  | { id: unknown; ok: false; error: { code: string; message: string } };

/** Runs one parsed request against the registry; never throws. */
export async function dispatch(registry: CommandRegistry, req: unknown): Promise<ControlResponse> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return { id: null, ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST', message: 'request must be a JSON object {id, cmd, args}' } };
  }
  const r = req as Record<string, unknown>;
  const id = r.id ?? null;
  if (typeof r.cmd !== 'string' || r.cmd === '') {
    return { id, ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST', message: 'missing "cmd" (a string)' } };
  }
  const args = r.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { id, ok: false, error: { code: 'ERR_CONTROL_BAD_ARGS', message: '"args" must be a JSON object' } };
  }
  const spec = registry.get(r.cmd);
  if (!spec) {
    const names = registry.list().map((c) => c.name).join(', ');
    return { id, ok: false, error: { code: 'ERR_CONTROL_UNKNOWN_COMMAND', message: `unknown command "${r.cmd}"; commands: ${names}` } };
  }
  try {
    const result = await spec.handler(args as Record<string, unknown>);
    return { id, ok: true, result: result === undefined ? null : result };
  } catch (err) {
    if (err instanceof ControlError || err instanceof LvsdError) return { id, ok: false, error: { code: err.code, message: err.message } };
    return { id, ok: false, error: { code: 'ERR_CONTROL_INTERNAL', message: err instanceof Error ? err.message : String(err) } };
  }
}

/** The control server. */
export class ControlServer {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly registry: CommandRegistry;
  private readonly bus: EventBus;
  private readonly path: string;
  private readonly onRequest: (cmd: string, ok: boolean, code: string | null) => void;
  private readonly maxClients: number;
  private readonly idleTimeoutMs: number;

  constructor(opts: {
    path: string;
    registry: CommandRegistry;
    bus: EventBus;
    onRequest?: (cmd: string, ok: boolean, code: string | null) => void;
    /** Default MAX_CLIENTS. */
    maxClients?: number;
    /** Default IDLE_TIMEOUT_MS. */
    idleTimeoutMs?: number;
  }) {
    this.path = opts.path;
    this.registry = opts.registry;
    this.bus = opts.bus;
    this.onRequest = opts.onRequest ?? (() => {});
    this.maxClients = opts.maxClients ?? MAX_CLIENTS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  }

  /**
   * Listens on the socket path; a stale socket from a dead daemon is replaced, a live one is
   * ERR_CONTROL_IN_USE, a path that is not a socket ERR_CONTROL_PATH, anything else the
   * kernel refuses (permissions, a read-only directory, a path too long) ERR_CONTROL_LISTEN.
   */
  async listen(): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new LvsdError('ERR_CONTROL_LISTEN', `cannot create ${dirname(this.path)}: ${errText(err)}`, { cause: err });
    }
    if (existsSync(this.path)) {
      if (!lstatSync(this.path).isSocket()) throw new LvsdError('ERR_CONTROL_PATH', `${this.path} exists and is not a socket`);
      if (await isAlive(this.path)) throw new LvsdError('ERR_CONTROL_IN_USE', `another daemon answers on ${this.path}`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(new LvsdError('ERR_CONTROL_LISTEN', `cannot listen on ${this.path}: ${errText(err)}`, { cause: err }));
      server.once('error', fail);
      server.listen(this.path, () => {
        server.off('error', fail);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    server.on('error', () => { /* per-connection errors are handled on sockets */ });
    this.server = server;
  }

  /** Stops listening, closes clients and removes the socket file. */
  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  private accept(sock: Socket): void {
    sock.setEncoding('utf8');
    sock.on('error', () => { /* the client went away; nothing to do */ });
    const refuse = (code: string, message: string) => {
      // Destroyed once the line is flushed: a client that never reads or never closes
      // must not hold the slot (or server.close()) forever.
      if (!sock.destroyed) sock.end(JSON.stringify({ id: null, ok: false, error: { code, message } }) + '\n', () => sock.destroy());
      this.onRequest('?', false, code);
    };
    if (this.clients.size >= this.maxClients) {
      // A coded answer instead of the bare ECONNRESET that server.maxConnections would give.
      refuse('ERR_CONTROL_BUSY', `too many control connections (${this.maxClients}); try again`);
      return;
    }
    this.clients.add(sock);
    let buf = '';
    let unwatch: (() => void) | null = null;
    let pending = 0;
    let closed = false;
    let chain = Promise.resolve();
    let idle: NodeJS.Timeout | null = null;
    const send = (obj: unknown) => {
      if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(obj) + '\n');
    };
    const armIdle = () => {
      if (idle) clearTimeout(idle);
      idle = null;
      if (closed || unwatch || pending > 0) return;
      idle = setTimeout(() => {
        idle = null;
        if (closed || unwatch || pending > 0) return;
        closed = true;
        refuse('ERR_CONTROL_IDLE', `no request for ${this.idleTimeoutMs} ms; closing`);
      }, this.idleTimeoutMs);
      idle.unref();
    };
    const tooLarge = () => {
      buf = '';
      closed = true;
      refuse('ERR_CONTROL_TOO_LARGE', `request over ${MAX_REQUEST_BYTES} bytes; closing`);
    };
    sock.on('data', (chunk: string) => {
      if (closed) return;
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const raw = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (Buffer.byteLength(raw) > MAX_REQUEST_BYTES) return tooLarge();
        const line = raw.trim();
        if (line === '') continue;
        let req: unknown;
        try {
          req = JSON.parse(line);
        } catch {
          send({ id: null, ok: false, error: { code: 'ERR_CONTROL_PARSE', message: 'request is not valid JSON' } });
          this.onRequest('?', false, 'ERR_CONTROL_PARSE');
          continue;
        }
        const r = req as { id?: unknown; cmd?: unknown };
        if (r && typeof r === 'object' && r.cmd === 'watch') {
          if (!unwatch) {
            const id = r.id ?? null;
            unwatch = this.bus.onAny((ev) => send({ id, event: fieldsOf(ev) }));
            send({ id, ok: true, result: { watching: true } });
          }
          continue;
        }
        // Requests on one connection are answered in order.
        pending++;
        chain = chain.then(async () => {
          const res = await dispatch(this.registry, req);
          this.onRequest(typeof r?.cmd === 'string' ? r.cmd : '?', res.ok, res.ok ? null : res.error.code);
          send(res);
          pending--;
          armIdle();
        });
      }
      if (Buffer.byteLength(buf) > MAX_REQUEST_BYTES) return tooLarge();
      armIdle();
    });
    const done = () => {
      closed = true;
      if (idle) clearTimeout(idle);
      idle = null;
      unwatch?.();
      unwatch = null;
      this.clients.delete(sock);
    };
    sock.on('close', done);
    armIdle();
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 500);
    s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(t); resolve(false); });
  });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err); // Node's messages start with the errno code
}
