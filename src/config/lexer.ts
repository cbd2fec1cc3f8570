/**
 * keepalived.conf lexing, one line at a time, with the column of every character kept
 * through comment removal, parameter substitution and brace splitting, so every token
 * knows its file:line:col.
 *
 * Rules follow keepalived's lib/parser.c (`decomment`, `read_line`,
 * `alloc_strvec_quoted_escaped`) and keepalived.conf(5) "Quoted strings":
 * - `#` and `!` start a comment anywhere outside double quotes; `\#` and `\!` are literal;
 * - a `{` or `}` outside double quotes always stands alone, wherever it is on the line
 *   (`real_server 1.2.3.4 80 {`, `192.168.1.1}` and `{ state MASTER }` all work);
 * - words are split on blanks; `"` and `'` quote (and may start mid-word:
 *   `abcd" efg "h` is one word), backslash escapes `\a \b \E \f \n \r \t \v \nnn \xHH \cC`
 *   are decoded inside and outside quotes, `\C` is C.
 */
import type { SourcePos } from '../lib/errors.js';

/**
 * Text with the source line and column of each character (1-based). Ordinary text keeps
 * only where it starts (`col0`: character i is at line `line`, column `col0 + i`); text that
 * was joined or substituted carries per-character `lines`/`cols`. Most lines of a config
 * are ordinary, and not allocating two arrays per line halves the reading time of a large
 * file (2,000 real servers: measured with test/unit/config/load-perf.test.ts).
 */
export interface PosText {
  readonly text: string;
  readonly file: string;
  /** Line of the first character (for empty text: where it came from). */
  readonly line: number;
  /** Column of the first character when `cols` is absent. */
  readonly col0: number;
  readonly lines?: readonly number[];
  readonly cols?: readonly number[];
}

/** Line of character i. */
export function lineAt(p: PosText, i: number): number {
  return p.lines ? p.lines[i]! : p.line;
}

/** Column of character i. */
export function colAt(p: PosText, i: number): number {
  return p.cols ? p.cols[i]! : p.col0 + i;
}

/** One word of a keepalived line. */
export interface Token {
  /** The word after quote removal and escape decoding. */
  readonly text: string;
  readonly pos: SourcePos;
  /** True when any part of the word was quoted (a quoted `{` is a word, not a brace). */
  readonly quoted: boolean;
}

/** A logical line: an opening brace, a closing brace, or words. */
export type Segment =
  | { readonly kind: 'open'; readonly pos: SourcePos }
  | { readonly kind: 'close'; readonly pos: SourcePos }
  | { readonly kind: 'words'; readonly tokens: readonly Token[] };

/** A lexing problem at a position. */
export interface LexIssue {
  readonly pos: SourcePos;
  readonly message: string;
}

/** Makes a PosText from a raw physical line (columns 1..n). */
export function posText(text: string, file: string, line: number): PosText {
  return { text, file, line, col0: 1 };
}

/** Slice of a PosText. */
export function slicePos(p: PosText, start: number, end = p.text.length): PosText {
  if (!p.cols) return { text: p.text.slice(start, end), file: p.file, line: p.line, col0: p.col0 + start };
  const lines = p.lines!.slice(start, end);
  return { text: p.text.slice(start, end), file: p.file, line: lines[0] ?? p.line, col0: 1, lines, cols: p.cols.slice(start, end) };
}

/** Concatenates PosTexts of one logical line. */
export function concatPos(parts: readonly PosText[]): PosText {
  let text = '';
  const cols: number[] = [];
  const lines: number[] = [];
  for (const p of parts) {
    text += p.text;
    for (let i = 0; i < p.text.length; i++) {
      cols.push(colAt(p, i));
      lines.push(lineAt(p, i));
    }
  }
  const first = parts[0]!;
  return { text, file: first.file, line: lines[0] ?? first.line, col0: 1, lines, cols };
}

/** A PosText for inserted text (substitutions): every character gets line `line`, column `col`. */
export function insertedPos(text: string, file: string, line: number, col: number): PosText {
  return { text, file, line, col0: col, lines: new Array<number>(text.length).fill(line), cols: new Array<number>(text.length).fill(col) };
}

/** Position of character i of a PosText (just past the end when i is past the end). */
export function posAt(p: PosText, i: number): SourcePos {
  const n = p.text.length;
  if (i < n) return { file: p.file, line: lineAt(p, i), col: colAt(p, i) };
  if (n > 0) return { file: p.file, line: lineAt(p, n - 1), col: colAt(p, n - 1) + 1 };
  return { file: p.file, line: p.line, col: p.col0 };
}

const BLANK = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\r' || c === '\n';

/** Removes leading and trailing blanks. */
export function trimPos(p: PosText): PosText {
  let s = 0;
  let e = p.text.length;
  while (s < e && BLANK(p.text[s])) s++;
  while (e > s && BLANK(p.text[e - 1])) e--;
  return s === 0 && e === p.text.length ? p : slicePos(p, s, e);
}

/**
 * keepalived `decomment()`: strips a `#`/`!` comment (outside double quotes), turns `\#`
 * and `\!` (outside quotes) into `#`/`!`, and reports a trailing `\` (line continues).
 */
export function decomment(p: PosText): { text: PosText; continued: boolean; unterminatedQuote: boolean } {
  const t = p.text;
  if (!/["\\#!]/.test(t)) return { text: trimPos(p), continued: false, unterminatedQuote: false };
  let quote = false;
  const keepText: string[] = [];
  const keepCols: number[] = [];
  const keepLines: number[] = [];
  const keep = (i: number) => {
    keepText.push(t[i]!);
    keepCols.push(colAt(p, i));
    keepLines.push(lineAt(p, i));
  };
  let continued = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '"') {
      quote = !quote;
    } else if (c === '\\') {
      if (i + 1 >= t.length) {
        continued = true;
        break;
      }
      const n = t[i + 1]!;
      if (!quote && (n === '#' || n === '!')) {
        keep(i + 1);
        i++;
        continue;
      }
      keep(i);
      keep(i + 1);
      i++;
      continue;
    } else if (!quote && (c === '#' || c === '!')) {
      break;
    }
    keep(i);
  }
  const text = trimPos({ text: keepText.join(''), file: p.file, line: p.line, col0: 1, lines: keepLines, cols: keepCols });
  return { text, continued, unterminatedQuote: quote };
}

/**
 * Splits a preprocessed line at braces (outside double quotes) and into words.
 * Appends segments to `out`; lexing problems go to `issues`.
 */
export function segmentLine(p: PosText, out: Segment[], issues: LexIssue[]): void {
  const t = p.text;
  let start = 0;
  let quote = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '"') { quote = !quote; continue; }
    if (quote) continue;
    // An unreplaced `${NAME}` stays one word (keepalived would split its braces).
    if (c === '$' && t[i + 1] === '{') {
      const close = t.indexOf('}', i + 2);
      if (close > 0 && !/[\s{]/.test(t.slice(i + 2, close))) { i = close; continue; }
    }
    if (c === '{' || c === '}') {
      if (i > start) pushWords(slicePos(p, start, i), out, issues);
      out.push({ kind: c === '{' ? 'open' : 'close', pos: posAt(p, i) });
      start = i + 1;
    }
  }
  if (start < t.length) pushWords(slicePos(p, start), out, issues);
}

function pushWords(p: PosText, out: Segment[], issues: LexIssue[]): void {
  const tokens = splitWords(p, issues);
  if (tokens.length > 0) out.push({ kind: 'words', tokens });
}

/** keepalived `alloc_strvec_quoted_escaped`: words with quotes and escapes decoded. */
export function splitWords(p: PosText, issues: LexIssue[]): Token[] {
  const t = p.text;
  const out: Token[] = [];
  let i = 0;
  while (i < t.length) {
    while (i < t.length && BLANK(t[i])) i++;
    if (i >= t.length) break;
    const startIdx = i;
    let word = '';
    let quoted = false;
    let quote: string | null = null;
    while (i < t.length) {
      const c = t[i]!;
      if (quote === null && BLANK(c)) break;
      if (c === '\\') {
        const r = decodeEscape(t, i + 1);
        if (r === null) {
          issues.push({ pos: posAt(p, i), message: 'missing character after `\\` at end of line' });
          i++;
          continue;
        }
        word += r.ch;
        i = r.next;
        continue;
      }
      if (quote !== null) {
        if (c === quote) { quote = null; i++; continue; }
        word += c;
        i++;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        quoted = true;
        i++;
        continue;
      }
      word += c;
      i++;
    }
    if (quote !== null) {
      issues.push({ pos: posAt(p, startIdx), message: `unterminated quoted string (missing closing ${quote})` });
    }
    out.push({ text: word, pos: posAt(p, startIdx), quoted });
  }
  return out;
}

/** Decodes the escape whose character (after the backslash) is at index j. */
function decodeEscape(t: string, j: number): { ch: string; next: number } | null {
  if (j >= t.length) return null;
  const c = t[j]!;
  if (c === 'x' && j + 1 < t.length && /[0-9a-fA-F]/.test(t[j + 1]!)) {
    let k = j + 1;
    let v = 0;
    while (k < t.length && /[0-9a-fA-F]/.test(t[k]!)) {
      v = ((v << 4) | parseInt(t[k]!, 16)) & 0xff;
      k++;
    }
    return { ch: String.fromCharCode(v), next: k };
  }
  if (c === 'c' && j + 1 < t.length) {
    return { ch: String.fromCharCode(t.charCodeAt(j + 1) & 0x1f), next: j + 2 };
  }
  if (c >= '0' && c <= '7') {
    let k = j;
    let v = 0;
    while (k < t.length && k < j + 3 && t[k]! >= '0' && t[k]! <= '7') {
      v = v * 8 + (t.charCodeAt(k) - 48);
      k++;
    }
    return { ch: String.fromCharCode(v & 0xff), next: k };
  }
  const simple: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return { ch: simple[c] ?? c, next: j + 1 };
}
