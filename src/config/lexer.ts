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

/** Text with the source line and column of each character (1-based). */
export interface PosText {
  readonly text: string;
  readonly lines: readonly number[];
  readonly cols: readonly number[];
  readonly file: string;
  /** Line of the first character (for empty text: where it came from). */
  readonly line: number;
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
  const cols = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) cols[i] = i + 1;
  return { text, lines: new Array<number>(text.length).fill(line), cols, file, line };
}

/** Slice of a PosText. */
export function slicePos(p: PosText, start: number, end = p.text.length): PosText {
  const lines = p.lines.slice(start, end);
  return { text: p.text.slice(start, end), lines, cols: p.cols.slice(start, end), file: p.file, line: lines[0] ?? p.line };
}

/** Concatenates PosTexts of one logical line (the first one's line number is kept). */
export function concatPos(parts: readonly PosText[]): PosText {
  let text = '';
  const cols: number[] = [];
  const lines: number[] = [];
  for (const p of parts) {
    text += p.text;
    for (const c of p.cols) cols.push(c);
    for (const l of p.lines) lines.push(l);
  }
  const first = parts[0]!;
  return { text, lines, cols, file: first.file, line: lines[0] ?? first.line };
}

/** A PosText for inserted text (substitutions): every character gets column `col`. */
export function insertedPos(text: string, file: string, line: number, col: number): PosText {
  return { text, lines: new Array<number>(text.length).fill(line), cols: new Array<number>(text.length).fill(col), file, line };
}

/** Position of character i of a PosText (end of line when i is past the end). */
export function posAt(p: PosText, i: number): SourcePos {
  if (i < p.cols.length) return { file: p.file, line: p.lines[i]!, col: p.cols[i]! };
  if (p.cols.length > 0) return { file: p.file, line: p.lines[p.cols.length - 1]!, col: p.cols[p.cols.length - 1]! + 1 };
  return { file: p.file, line: p.line, col: 1 };
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
  let quote = false;
  const keepText: string[] = [];
  const keepCols: number[] = [];
  const keepLines: number[] = [];
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
        keepText.push(n);
        keepCols.push(p.cols[i + 1]!);
        keepLines.push(p.lines[i + 1]!);
        i++;
        continue;
      }
      keepText.push(c, n);
      keepCols.push(p.cols[i]!, p.cols[i + 1]!);
      keepLines.push(p.lines[i]!, p.lines[i + 1]!);
      i++;
      continue;
    } else if (!quote && (c === '#' || c === '!')) {
      break;
    }
    keepText.push(c);
    keepCols.push(p.cols[i]!);
    keepLines.push(p.lines[i]!);
  }
  const text = trimPos({ text: keepText.join(''), lines: keepLines, cols: keepCols, file: p.file, line: p.line });
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
