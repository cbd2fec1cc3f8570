/**
 * The convict schema and the validation of a raw tree (ARCHITECTURE D8: one schema for both
 * syntaxes, `allowed: 'strict'`).
 *
 * Every block of the keyword table becomes a convict schema whose properties are its
 * keywords, each with a custom format that parses the keyword's words (or, for a sub-block
 * or a keyed collection, validates each child against the child block's schema, with a
 * convict instance of its own). Validating a block = one convict instance, every raw key
 * `set()` on it, `validate({ allowed: 'strict' })`: convict reports undeclared keywords
 * (mapped to "unknown keyword" with "did you mean") and runs the formats, which record
 * their findings with exact positions. Values are boxed in a one-element array before
 * `set()`, so convict treats every keyword value, blocks included, as one leaf and never
 * walks into it.
 *
 * The result is the validated tree (src/model/validated.ts): same shape, values parsed.
 */
import convict from 'convict';
import type { SourcePos } from '../lib/errors.js';
import type { VBlock, VBlocks, VField, VLeaf, VList } from '../model/validated.js';
import { CODES, type Diagnostics } from './diagnostics.js';
import { didYouMean } from './did-you-mean.js';
import { allBlocks, canonicalOf, ROOT, type BlockSpec, type KwSpec, type Parser } from './keywords.js';
import { RESERVED_KEYS, type RawBlock } from './raw-tree.js';
import { childPath, indexPath, type SourceMap } from './source-map.js';
import { Words } from './values.js';

/** A value handed to convict: boxed so convict sees a leaf. */
type Boxed = [unknown] & { readonly lvtBox: true };

const box = (v: unknown): Boxed => Object.assign([v] as [unknown], { lvtBox: true as const });
const unbox = (b: unknown): unknown => (Array.isArray(b) && (b as Partial<Boxed>).lvtBox ? b[0] : b);

/** Marker thrown by formats after they recorded their diagnostics themselves. */
const RECORDED = 'lvt-cfg:recorded';

interface Frame {
  readonly path: string;
  readonly spec: BlockSpec;
  readonly fields: Record<string, VField>;
}

interface Ctx {
  readonly map: SourceMap;
  readonly diags: Diagnostics;
  readonly frames: Frame[];
}

/** The validation in progress (validation is synchronous, one at a time). */
let current: Ctx | null = null;

const schemas = new WeakMap<BlockSpec, convict.Schema<Record<string, unknown>>>();

/** The convict schema of one block (built once per block spec). */
export function schemaOf(spec: BlockSpec): convict.Schema<Record<string, unknown>> {
  let s = schemas.get(spec);
  if (!s) {
    const props: Record<string, convict.SchemaObj> = {};
    for (const [kw, ks] of Object.entries(spec.keywords)) {
      props[kw] = { default: undefined, doc: ks.doc, format: makeFormat(kw, ks) };
    }
    s = props as unknown as convict.Schema<Record<string, unknown>>;
    schemas.set(spec, s);
  }
  return s;
}

function makeFormat(kw: string, ks: KwSpec): (v: unknown) => void {
  return (boxed: unknown) => {
    const ctx = current!;
    const frame = ctx.frames[ctx.frames.length - 1]!;
    const path = childPath(frame.path, kw);
    const before = ctx.diags.errorCount;
    const field = validateField(kw, ks, unbox(boxed), path, ctx);
    if (field) {
      // `track_file` and its older spelling `vrrp_track_file` feed one collection.
      const canon = canonicalOf(kw, ks);
      const prev = frame.fields[canon];
      frame.fields[canon] = prev && prev.kind === 'blocks' && field.kind === 'blocks'
        ? { kind: 'blocks', path: prev.path, items: [...prev.items, ...field.items], invalid: prev.invalid + field.invalid }
        : field;
    }
    if (ctx.diags.errorCount > before) {
      const e = new Error(RECORDED);
      // convict appends `: value was <JSON>` to the message; keep that off the (large) raw value.
      Object.defineProperty(e, 'value', { get: () => undefined, set: () => {} });
      throw e;
    }
  };
}

/** Validates a whole raw tree against the root schema. */
export function validateRawTree(raw: RawBlock, map: SourceMap, diags: Diagnostics): VBlock {
  const prev = current;
  current = { map, diags, frames: [] };
  try {
    return validateBlock(raw, ROOT, '', null, null, current);
  } finally {
    current = prev;
  }
}

/**
 * One convict instance per block spec, reused: after a block is validated every key set on
 * it is set back to undefined (its default). An instance that saw an undeclared key is
 * dropped instead (convict keeps such keys). Creating a convict instance per block costs
 * ~0.1 ms (schema normalisation clones every property); reusing them halved the time of a
 * 2,000-real-server config (test/unit/config/load-perf.test.ts measures it).
 */
const pool = new Map<BlockSpec, { conv: convict.Config<Record<string, unknown>>; busy: boolean }>();

function acquire(spec: BlockSpec): { conv: convict.Config<Record<string, unknown>>; busy: boolean } {
  const hit = pool.get(spec);
  if (hit && !hit.busy) {
    hit.busy = true;
    return hit;
  }
  const fresh = { conv: convict(schemaOf(spec), { env: {}, args: [] }), busy: true };
  if (!hit) pool.set(spec, fresh);
  return fresh;
}

function validateBlock(raw: RawBlock, spec: BlockSpec, path: string, key: string | null, header: unknown, ctx: Ctx): VBlock {
  const fields: Record<string, VField> = {};
  const slot = acquire(spec);
  const conv = slot.conv;
  const setKeys: string[] = [];
  let undeclared = false;
  const renamed = new Map<string, string>();
  for (const k of Object.keys(raw)) {
    if (RESERVED_KEYS.has(k)) {
      unknownKeyword(k, spec, childPath(path, k), ctx);
      continue;
    }
    // convict splits keys on dots; an unknown keyword with a dot is still a single key.
    const safe = k.includes('.') ? k.replace(/\./g, '\u2024') : k;
    if (safe !== k) renamed.set(safe, k);
    if (!Object.prototype.hasOwnProperty.call(spec.keywords, k)) undeclared = true;
    conv.set(safe, box(raw[k]));
    setKeys.push(safe);
  }
  ctx.frames.push({ path, spec, fields });
  try {
    conv.validate({ allowed: 'strict' });
  } catch (e) {
    for (const line of String((e as Error).message).split('\n')) {
      const m = /^configuration param '(.*)' not declared in the schema$/.exec(line);
      if (m) {
        const k = renamed.get(m[1]!) ?? m[1]!;
        unknownKeyword(k, spec, childPath(path, k), ctx);
      } else if (!line.includes(RECORDED) && line.trim() !== '') {
        ctx.diags.error(CODES.VALUE, ctx.map.nearest(path), path, line);
      }
    }
  } finally {
    ctx.frames.pop();
    if (undeclared) {
      if (pool.get(spec) === slot) pool.delete(spec);
    } else {
      for (const k of setKeys) conv.set(k, undefined);
    }
    slot.busy = false;
  }
  return { kind: 'block', path, key, header, fields };
}

/** Blocks that accept each keyword, for "belongs in ..." hints. */
let homes: Map<string, string[]> | null = null;

function homesOf(kw: string): string[] {
  if (!homes) {
    homes = new Map();
    for (const b of allBlocks()) {
      for (const k of Object.keys(b.keywords)) {
        const list = homes.get(k) ?? [];
        if (!list.includes(b.name)) list.push(b.name);
        homes.set(k, list);
      }
    }
  }
  return homes.get(kw) ?? [];
}

function unknownKeyword(kw: string, spec: BlockSpec, path: string, ctx: Ctx): void {
  const pos = ctx.map.pos(path) ?? ctx.map.nearest(path);
  const where = spec === ROOT ? 'at the top level' : `in \`${spec.name}\``;
  const home = (b: string) => (b === ROOT.name ? 'at the top level' : `in \`${b}\``);
  const guess = didYouMean(kw, Object.keys(spec.keywords));
  let msg = `unknown keyword \`${kw}\` ${where}`;
  if (guess) {
    msg += ` (did you mean \`${guess}\`?)`;
  } else {
    const elsewhere = homesOf(kw).filter((b) => b !== spec.name);
    if (elsewhere.length) msg += ` (\`${kw}\` belongs ${elsewhere.map(home).join(' or ')})`;
  }
  ctx.diags.error(CODES.UNKNOWN_KEYWORD, pos, path, msg);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isWords = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function shapeError(ctx: Ctx, path: string, msg: string): undefined {
  ctx.diags.error(CODES.VALUE, ctx.map.nearest(path), path, msg);
  return undefined;
}

/** Runs a parser over words and reports its issues at the exact words. */
function parseWords(parse: Parser, words: readonly string[], what: string, path: string, ctx: Ctx): unknown {
  const w = new Words(words, what);
  const v = parse(w);
  for (const is of w.issues) {
    const pos: SourcePos | null = ctx.map.pos(path, is.arg) ?? ctx.map.nearest(path);
    ctx.diags.add(is.code ?? (is.severity === 'error' ? CODES.VALUE : CODES.W_UNSUPPORTED), is.severity, pos, path, is.message);
  }
  return w.failed ? undefined : v;
}

function validateField(kw: string, ks: KwSpec, raw: unknown, path: string, ctx: Ctx): VField | undefined {
  const what = `\`${kw}\``;
  if (ks.t === 'unsupported') {
    const dep = ks.deprecated ? ` (and deprecated in keepalived: ${ks.deprecated})` : '';
    ctx.diags.warn(CODES.W_UNSUPPORTED, ctx.map.pos(path), path, `\`${kw}\` accepted, not supported yet${dep}`);
    return undefined;
  }
  if ('deprecated' in ks && ks.deprecated) {
    ctx.diags.warn(CODES.W_DEPRECATED, ctx.map.pos(path), path, `\`${kw}\` is deprecated (${ks.deprecated}); read as such`);
  }
  switch (ks.t) {
    case 'leaf': {
      const words = raw === true ? [] : raw;
      if (!isWords(words)) return shapeError(ctx, path, `${what} takes a value on its line, not a block or list`);
      const v = parseWords(ks.parse, words, what, path, ctx);
      return v === undefined ? { kind: 'invalid', path } : ({ kind: 'leaf', path, value: v } satisfies VLeaf);
    }
    case 'block': {
      if (!isPlainObject(raw)) return shapeError(ctx, path, `${what} must be a block of keywords`);
      return validateBlock(raw as RawBlock, ks.block, path, null, null, ctx);
    }
    case 'list':
      return validateList(ks.parseLine, raw, path, what, ctx);
    case 'named':
    case 'namedList': {
      if (!isPlainObject(raw)) return shapeError(ctx, path, `${what} must map names to blocks`);
      const items: VBlock[] = [];
      let invalid = 0;
      for (const [name, member] of Object.entries(raw)) {
        const mp = childPath(path, name);
        const header = parseWords(ks.parseName, [name], what, mp, ctx);
        let item: VBlock | undefined;
        if (ks.t === 'named') {
          if (!isPlainObject(member)) {
            shapeError(ctx, mp, `${kw} \`${name}\` must be a block of keywords`);
          } else {
            item = validateBlock(member as RawBlock, ks.block, mp, name, header ?? null, ctx);
          }
        } else {
          const lines = validateList(ks.parseLine, member, mp, what, ctx);
          if (lines) item = { kind: 'block', path: mp, key: name, header: header ?? null, fields: { lines } };
        }
        // A bad name is reported and its block still checked (every error at once), then left out.
        if (item && header !== undefined) items.push(item);
        else invalid++;
      }
      return { kind: 'blocks', path, items, invalid } satisfies VBlocks;
    }
    case 'keyed': {
      if (!isPlainObject(raw)) return shapeError(ctx, path, `${what} must map headers (\`${ks.syntax ?? ''}\`) to blocks`);
      const items: VBlock[] = [];
      let invalid = 0;
      for (const [key, member] of Object.entries(raw)) {
        const mp = childPath(path, key);
        const words = key.trim().split(/\s+/).filter((x) => x !== '');
        const list = Array.isArray(member) ? member : [member];
        list.forEach((m, i) => {
          const p = Array.isArray(member) ? indexPath(mp, i) : mp;
          const header = parseWords(ks.parseHeader, words, what, ctx.map.get(p) ? p : mp, ctx);
          if (!isPlainObject(m)) {
            shapeError(ctx, p, `${kw} \`${key}\` must be a block of keywords`);
            invalid++;
            return;
          }
          const item = validateBlock(m as RawBlock, ks.block, p, key, header ?? null, ctx);
          if (header !== undefined) items.push(item);
          else invalid++;
        });
      }
      return { kind: 'blocks', path, items, invalid } satisfies VBlocks;
    }
    case 'repeat': {
      const list = Array.isArray(raw) ? raw : [raw];
      const items: VBlock[] = [];
      let invalid = 0;
      list.forEach((m, i) => {
        const p = Array.isArray(raw) ? indexPath(path, i) : path;
        if (!isPlainObject(m)) {
          shapeError(ctx, p, `${what} must be a block of keywords`);
          invalid++;
          return;
        }
        items.push(validateBlock(m as RawBlock, ks.block, p, null, null, ctx));
      });
      return { kind: 'blocks', path, items, invalid } satisfies VBlocks;
    }
  }
}

function validateList(parseLine: Parser, raw: unknown, path: string, what: string, ctx: Ctx): VList | undefined {
  if (!Array.isArray(raw)) return shapeError(ctx, path, `${what} must be a list of lines`);
  const entries: VLeaf[] = [];
  let invalid = 0;
  raw.forEach((line, i) => {
    const p = indexPath(path, i);
    if (!isWords(line)) {
      shapeError(ctx, p, `each line of ${what} must be words, not a block`);
      invalid++;
      return;
    }
    const v = parseWords(parseLine, line, what, p, ctx);
    if (v !== undefined) entries.push({ kind: 'leaf', path: p, value: v });
    else invalid++;
  });
  return { kind: 'list', path, entries, invalid };
}
