/**
 * YAML → raw tree. The YAML form mirrors keepalived.conf block for block (docs/configuration.md
 * "YAML form"): a keyword is a mapping key; a keyword line's arguments are its value (a string
 * split into words exactly as keepalived splits a line, quotes included, or a list of words);
 * a flag is `true`/`false` or empty; a `{ }` block is a mapping; a collection is a mapping from
 * its name or header (`VI_1`, `198.18.0.10 80`) to its block; a repeated block (checkers,
 * `url`, two `virtual_server`s with one header) is a list of mappings; a value block
 * (`virtual_ipaddress`) is a list of lines.
 *
 * Every scalar is read as a string (YAML failsafe schema), so `advert_int: 1.0` and
 * `http_protocol: 1.0` keep what was written, and positions are exact for every word.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import type { SourcePos } from '../lib/errors.js';
import { CODES, type Diagnostics } from './diagnostics.js';
import type { BlockSpec, KwSpec } from './keywords.js';
import { ROOT, specOf } from './keywords.js';
import { splitWords, type LexIssue, type PosText } from './lexer.js';
import { LeafTracker, rawBlock, type RawBlock } from './raw-tree.js';
import { childPath, indexPath, type SourceMap } from './source-map.js';

/**
 * Line starts of a text, for offset → line:col (the yaml package's LineCounter stops
 * counting where its lexer stopped, so positions of errors after a bad token drift).
 */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  linePos(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1 };
  }
}

interface Y {
  readonly text: string;
  readonly file: string;
  readonly lc: LineIndex;
  readonly doc: Document;
  readonly map: SourceMap;
  readonly diags: Diagnostics;
}

/** Parses YAML text into the raw tree; null when the YAML itself does not parse. */
export function yamlRawTree(text: string, file: string, map: SourceMap, diags: Diagnostics): RawBlock | null {
  const lc = new LineIndex(text);
  // Duplicate keys are found while the tree is read (uniqueKeys off), so the error names the
  // path of the key (`global_defs.router_id`), which the parser's own error cannot.
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const y: Y = { text, file, lc, doc, map, diags };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) diags.error(CODES.YAML, at(y, e.pos[0]), '', e.message.split('\n')[0]!);
    return null;
  }
  for (const w of doc.warnings) diags.warn(CODES.YAML, at(y, w.pos[0]), '', w.message.split('\n')[0]!);
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === '' || root.value === null))) return rawBlock();
  if (!isMap(root)) {
    diags.error(CODES.YAML, at(y, root.range?.[0] ?? 0), '', 'the YAML document must be a mapping of keepalived top-level keywords');
    return null;
  }
  return block(y, root, ROOT, '');
}

function at(y: Y, offset: number): SourcePos {
  const p = y.lc.linePos(offset);
  return { file: y.file, line: p.line, col: p.col };
}

function resolve(y: Y, n: unknown): Node | null {
  let cur = n;
  for (let i = 0; i < 32 && isAlias(cur); i++) cur = cur.resolve(y.doc) ?? null;
  return (cur as Node | null) ?? null;
}

function start(n: Node | null | undefined): number {
  return n?.range?.[0] ?? 0;
}

/**
 * Tracks the keys of one YAML mapping: a key given twice is an error at the second one, with
 * its path and the first one's position (YAML keys must be unique); the second is skipped.
 */
function uniqueKeys(y: Y): (key: string, pos: SourcePos, path: string) => boolean {
  const seen = new Map<string, SourcePos>();
  return (key, pos, path) => {
    const first = seen.get(key);
    if (first) {
      y.diags.error(CODES.YAML, pos, path, `the key \`${key}\` is given twice in one mapping (first at ${first.file}:${first.line}:${first.col}); YAML keys must be unique`);
      return false;
    }
    seen.set(key, pos);
    return true;
  };
}

function block(y: Y, m: YAMLMap, spec: BlockSpec | null, path: string): RawBlock {
  const out = rawBlock();
  const leaves = new LeafTracker();
  const once = uniqueKeys(y);
  for (const pair of m.items) {
    const keyNode = resolve(y, pair.key);
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      y.diags.error(CODES.YAML, at(y, start(keyNode)), path, 'keys must be keywords (strings)');
      continue;
    }
    const kw = keyNode.value;
    const kwPos = at(y, start(keyNode));
    const kwPath = childPath(path, kw);
    if (!once(kw, kwPos, kwPath)) continue;
    const value = resolve(y, pair.value);
    const ks: KwSpec | undefined = specOf(spec, kw);
    if (!ks || ks.t === 'unsupported') {
      out[kw] = generic(y, value);
      y.map.set(kwPath, kwPos, value && isScalar(value) ? words(y, value).pos : []);
      continue;
    }
    switch (ks.t) {
      case 'leaf': {
        leaves.note(out, kw, ks, kwPos, kwPath, y.diags);
        const lw = leafWords(y, value, kwPath);
        if (lw === null) continue;
        out[kw] = lw.words.length ? lw.words : true;
        // A YAML `false` switches a flag off: keep the word so the flag parser sees it.
        y.map.set(kwPath, kwPos, lw.pos);
        break;
      }
      case 'block': {
        y.map.set(kwPath, kwPos, []);
        if (!isMap(value)) {
          if (isEmpty(value)) { out[kw] = rawBlock(); break; }
          y.diags.error(CODES.YAML, at(y, start(value)), kwPath, `\`${kw}\` must be a mapping of keywords`);
          break;
        }
        out[kw] = block(y, value, ks.block, kwPath);
        break;
      }
      case 'named':
      case 'namedList':
      case 'keyed': {
        y.map.set(kwPath, kwPos, []);
        if (!isMap(value)) {
          y.diags.error(CODES.YAML, at(y, start(value)), kwPath,
            `\`${kw}\` must be a mapping from ${ks.t === 'keyed' ? 'header' : 'name'} to ${ks.t === 'namedList' ? 'a list of lines' : 'block'}`);
          break;
        }
        const coll: Record<string, unknown> = Object.create(null);
        const onceMember = uniqueKeys(y);
        for (const mp of value.items) {
          const k = resolve(y, mp.key);
          if (!isScalar(k) || typeof k.value !== 'string' || k.value.trim() === '') {
            y.diags.error(CODES.YAML, at(y, start(k)), kwPath, `each ${kw} needs a ${ks.t === 'keyed' ? 'header' : 'name'}`);
            continue;
          }
          const name = k.value.trim();
          const memberPath = childPath(kwPath, name);
          if (!onceMember(name, at(y, start(k)), memberPath)) continue;
          const kp = words(y, k);
          y.map.set(memberPath, kwPos, kp.pos);
          const v = resolve(y, mp.value);
          if (ks.t === 'namedList') {
            coll[name] = lines(y, v, memberPath, kw);
          } else if (ks.t === 'keyed' && isSeq(v)) {
            const arr: RawBlock[] = [];
            v.items.forEach((it, i) => {
              const n = resolve(y, it);
              const p = indexPath(memberPath, i);
              y.map.set(p, at(y, start(n)), kp.pos);
              if (isMap(n)) arr.push(block(y, n, ks.block, p));
              else y.diags.error(CODES.YAML, at(y, start(n)), p, `each ${kw} \`${name}\` must be a mapping of keywords`);
            });
            coll[name] = arr;
          } else if (isMap(v)) {
            coll[name] = block(y, v, ks.block, memberPath);
          } else if (isEmpty(v)) {
            coll[name] = rawBlock();
          } else {
            y.diags.error(CODES.YAML, at(y, start(v)), memberPath, `${kw} \`${name}\` must be a mapping of keywords`);
          }
        }
        out[kw] = coll;
        break;
      }
      case 'repeat': {
        y.map.set(kwPath, kwPos, []);
        if (isSeq(value)) {
          const arr: RawBlock[] = [];
          value.items.forEach((it, i) => {
            const n = resolve(y, it);
            const p = indexPath(kwPath, i);
            y.map.set(p, at(y, start(n)), []);
            if (isMap(n)) arr.push(block(y, n, ks.block, p));
            else if (isEmpty(n)) arr.push(rawBlock());
            else y.diags.error(CODES.YAML, at(y, start(n)), p, `each \`${kw}\` must be a mapping of keywords`);
          });
          out[kw] = arr;
        } else if (isMap(value)) {
          out[kw] = block(y, value, ks.block, kwPath);
        } else if (isEmpty(value)) {
          out[kw] = rawBlock();
        } else {
          y.diags.error(CODES.YAML, at(y, start(value)), kwPath, `\`${kw}\` must be a mapping of keywords (or a list of them)`);
        }
        break;
      }
      case 'list': {
        y.map.set(kwPath, kwPos, []);
        out[kw] = lines(y, value, kwPath, kw);
        break;
      }
    }
  }
  return out;
}

function isEmpty(n: Node | null): boolean {
  return n === null || (isScalar(n) && (n.value === '' || n.value === null));
}

/** The words of a scalar, split as keepalived splits a line, with each word's position. */
function words(y: Y, s: Scalar): { words: string[]; pos: SourcePos[] } {
  const v = String(s.value ?? '');
  const [s0, s1] = s.range ?? [0, 0];
  const quoted = s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE';
  const base = quoted ? s0 + 1 : s0;
  const exact = y.text.slice(base, base + v.length) === v && (!quoted || base + v.length <= s1);
  const lines: number[] = new Array<number>(v.length);
  const cols: number[] = new Array<number>(v.length);
  const first = y.lc.linePos(s0);
  for (let i = 0; i < v.length; i++) {
    const p = exact ? y.lc.linePos(base + i) : first;
    lines[i] = p.line;
    cols[i] = p.col;
  }
  const pt: PosText = { text: v, lines, cols, file: y.file, line: first.line, col0: first.col };
  const issues: LexIssue[] = [];
  // The string is what would follow the keyword on a keepalived.conf line, quoted or not.
  const toks = splitWords(pt, issues);
  for (const is of issues) y.diags.error(CODES.SYNTAX, is.pos, '', is.message);
  return { words: toks.map((t) => t.text), pos: toks.map((t) => t.pos) };
}

/** A leaf's words: a scalar (split), a list of scalars (one word each), or empty. */
function leafWords(y: Y, v: Node | null, path: string): { words: string[]; pos: SourcePos[] } | null {
  if (isEmpty(v)) return { words: [], pos: [] };
  if (isScalar(v)) return words(y, v);
  if (isSeq(v)) {
    const out: string[] = [];
    const pos: SourcePos[] = [];
    for (const it of v.items) {
      const n = resolve(y, it);
      if (!isScalar(n)) {
        y.diags.error(CODES.YAML, at(y, start(n)), path, 'a keyword\'s arguments must be words (scalars)');
        return null;
      }
      out.push(String(n.value ?? ''));
      pos.push(at(y, start(n)));
    }
    return { words: out, pos };
  }
  y.diags.error(CODES.YAML, at(y, start(v)), path, 'this keyword takes a value, not a mapping');
  return null;
}

/** A value block: a list whose items are lines (strings split into words, or lists of words). */
function lines(y: Y, v: Node | null, path: string, kw: string): string[][] {
  if (isEmpty(v)) return [];
  const items = isSeq(v) ? v.items.map((it) => resolve(y, it)) : [v];
  const out: string[][] = [];
  for (const n of items) {
    const p = indexPath(path, out.length);
    if (isScalar(n)) {
      const lineWords = words(y, n);
      if (lineWords.words.length === 0) continue;
      y.map.set(p, lineWords.pos[0]!, lineWords.pos);
      out.push(lineWords.words);
    } else if (isSeq(n)) {
      const lw = leafWords(y, n, p);
      if (!lw || lw.words.length === 0) continue;
      y.map.set(p, lw.pos[0]!, lw.pos);
      out.push(lw.words);
    } else {
      y.diags.error(CODES.YAML, at(y, start(n)), p, `each entry of \`${kw}\` must be a line (a string or a list of words)`);
    }
  }
  return out;
}

/** Unknown or unsupported keyword: keep a plain JS copy (never validated further). */
function generic(y: Y, v: Node | null): unknown {
  if (isEmpty(v)) return true;
  if (isScalar(v)) return words(y, v).words;
  if (isSeq(v)) return v.items.map((it) => generic(y, resolve(y, it)));
  if (isMap(v)) {
    const out = rawBlock();
    for (const p of v.items) {
      const k = resolve(y, p.key);
      if (isScalar(k)) out[String(k.value)] = generic(y, resolve(y, p.value));
    }
    return out;
  }
  return true;
}
