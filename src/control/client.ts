/** A client of the control socket (used by lvsadm and by tests). */
import { connect, type Socket } from 'node:net';
import { LvsdError } from '../lib/errors.js';

/** Default control socket path. */
export const DEFAULT_CONTROL_PATH = '/run/lvsd/lvsd.sock';

/** The error a command answered with. */
export class ControlCommandError extends LvsdError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'ControlCommandError';
  }
}

/** One connection; requests are answered in order. */
export class ControlClient {
  private readonly sock: Socket;
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private eventFn: ((ev: Record<string, unknown>) => void) | null = null;
  private rawWaiter: ((msg: Record<string, unknown>) => void) | null = null;
  private closed = false;
  /** A refusal the server sent on its own (`id: null`: busy, idle, too large) before it hung up. */
  private refusal: ControlCommandError | null = null;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(this.refusal ?? new LvsdError('ERR_CONTROL_CLOSED', 'control connection closed')));
  }

  /** Connects to the daemon at path (times out after timeoutMs). */
  static connect(path: string = DEFAULT_CONTROL_PATH, timeoutMs = 3000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new LvsdError('ERR_CONTROL_TIMEOUT', `no answer from ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new ControlClient(sock));
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(t);
        const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is lvsd running? see --control)' : '';
        reject(new LvsdError('ERR_CONTROL_CONNECT', `cannot connect to ${path}: ${err.code ?? err.message}${hint}`));
      });
    });
  }

  /** Sends a command and resolves with its result, or rejects with ControlCommandError. */
  request(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
    if (this.closed) return Promise.reject(this.refusal ?? new LvsdError('ERR_CONTROL_CLOSED', 'control connection closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new LvsdError('ERR_CONTROL_TIMEOUT', `${cmd}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => { clearTimeout(t); resolve(v); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
      this.sock.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  /** Sends a raw line (tests use it for malformed input); resolves with the next response. */
  raw(line: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.rawWaiter = resolve;
      this.sock.write(line.endsWith('\n') ? line : line + '\n');
    });
  }

  /** Streams every daemon event to fn until close(). */
  async watch(fn: (ev: Record<string, unknown>) => void): Promise<void> {
    this.eventFn = fn;
    await this.request('watch');
  }

  close(): void {
    this.closed = true;
    this.sock.end();
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl < 0) return;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('event' in msg) {
        this.eventFn?.(msg.event as Record<string, unknown>);
        continue;
      }
      if (this.rawWaiter) {
        const r = this.rawWaiter;
        this.rawWaiter = null;
        r(msg);
        continue;
      }
      if (msg.id === null && msg.ok === false && msg.error) {
        // Not an answer to one request: the server refuses the connection (ERR_CONTROL_BUSY,
        // ERR_CONTROL_IDLE, ERR_CONTROL_TOO_LARGE) and hangs up; every waiter gets the reason.
        const e = msg.error as { code: string; message: string };
        this.refusal = new ControlCommandError(e.code, e.message);
        for (const w of this.waiting.values()) w.reject(this.refusal);
        this.waiting.clear();
        continue;
      }
      const id = typeof msg.id === 'number' ? msg.id : -1;
      const w = this.waiting.get(id);
      if (!w) continue;
      this.waiting.delete(id);
      if (msg.ok) w.resolve(msg.result);
      else {
        const e = msg.error as { code: string; message: string };
        w.reject(new ControlCommandError(e.code, e.message));
      }
    }
  }
}
