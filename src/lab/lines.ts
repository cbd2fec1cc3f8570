/** Splits a stream into lines as they arrive. */
import type { Readable } from 'node:stream';

/** Collects the lines of one or more streams and tells listeners about each. */
export class LineReader {
  readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  constructor(...streams: Array<Readable | null | undefined>) {
    for (const s of streams) {
      if (!s) continue;
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          this.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
  }

  /** Adds a line (from a stream or a file tail). */
  push(line: string): void {
    this.lines.push(line);
    for (const l of [...this.listeners]) l(line);
  }

  /** Calls fn for every later line. */
  onLine(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves with the first line (already read or later) that matches, or rejects after timeoutMs. */
  waitFor(pred: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const off = this.onLine((l) => {
        if (pred(l)) {
          clearTimeout(t);
          off();
          resolve(l);
        }
      });
      const t = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
    });
  }
}
