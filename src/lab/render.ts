/**
 * How the lab talks to a person: act headers, narration, the directors' log lines in
 * lvsd's pretty format (pino-pretty, the same as `lvsd --log-format pretty` without the
 * field dump) prefixed with the director's name, and tables. Colour only on a terminal
 * (and never with NO_COLOR).
 */
import pretty from 'pino-pretty';
import type { LogEvent } from './director.js';

/** Writes the lab's output. */
export class Renderer {
  readonly color: boolean;
  private readonly write: (s: string) => void;
  private readonly prettyLine: (o: Record<string, unknown>) => string;
  private act = 0;

  constructor(opts: { color?: boolean; write?: (s: string) => void } = {}) {
    this.color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    this.write = opts.write ?? ((s) => process.stdout.write(s));
    this.prettyLine = pretty.prettyFactory({
      colorize: this.color,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      hideObject: true,
      singleLine: true,
    }) as (o: Record<string, unknown>) => string;
  }

  private paint(code: string, s: string): string {
    return this.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  bold(s: string): string { return this.paint('1', s); }
  dim(s: string): string { return this.paint('2', s); }
  green(s: string): string { return this.paint('32', s); }
  red(s: string): string { return this.paint('31', s); }
  yellow(s: string): string { return this.paint('33', s); }

  /** A line of text as is. */
  line(s = ''): void {
    this.write(s + '\n');
  }

  /** The lab's title block. */
  title(s: string, lines: string[]): void {
    this.line();
    this.line(this.bold(s));
    for (const l of lines) this.line(`  ${l}`);
  }

  /** A numbered act header with its narration. */
  header(title: string, narration: string[]): void {
    this.act++;
    const head = `── Act ${this.act} · ${title} `;
    this.line();
    this.line(this.bold(head + '─'.repeat(Math.max(4, 78 - head.length))));
    for (const l of narration) this.line(`   ${l}`);
  }

  /** An unnumbered section header. */
  section(title: string, narration: string[] = []): void {
    const head = `── ${title} `;
    this.line();
    this.line(this.bold(head + '─'.repeat(Math.max(4, 78 - head.length))));
    for (const l of narration) this.line(`   ${l}`);
  }

  /** What the lab observed (traffic counts, measured times). */
  note(s: string): void {
    this.line(`   ${this.paint('36', '▸')} ${s}`);
  }

  /** A director's log line, as it happens. */
  daemon(director: string, ev: LogEvent | null, raw: string): void {
    const tag = this.paint(director === 'dir1' ? '35' : '34', director.padEnd(4));
    if (!ev) {
      this.line(`   ${tag} │ ${this.dim(raw)}`);
      return;
    }
    this.line(`   ${tag} │ ${this.prettyLine(ev).replace(/\n$/, '')}`);
  }

  /** A table with right-aligned numeric columns. */
  table(head: string[], rows: string[][], opts: { footer?: string[] } = {}): void {
    const all = [head, ...rows, ...(opts.footer ? [opts.footer] : [])];
    const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    this.line(`   ${this.bold(fmt(head))}`);
    for (const r of rows) this.line(`   ${fmt(r)}`);
    if (opts.footer) {
      this.line(`   ${'─'.repeat(widths.reduce((a, b) => a + b + 2, -2))}`);
      this.line(`   ${this.bold(fmt(opts.footer))}`);
    }
  }
}

/** 4812 → "4,812". */
export function num(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Epoch ms → "HH:MM:SS.mmm" (local time, as the log lines show it). */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
