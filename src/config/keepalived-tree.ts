/**
 * keepalived syntax tree → raw tree, guided by the keyword table: which keywords open
 * keyword blocks, which open data blocks (virtual_ipaddress, track_script, ...), which are
 * collections. Structural mistakes (a block where none belongs, a missing name) are
 * reported here; values are left as words for the schema to validate.
 */
import type { SourcePos } from '../lib/errors.js';
import { CODES, type Diagnostics } from './diagnostics.js';
import type { BlockSpec, KwSpec } from './keywords.js';
import { ROOT, specOf } from './keywords.js';
import type { Token } from './lexer.js';
import { LeafTracker, rawBlock, type RawBlock } from './raw-tree.js';
import { childPath, indexPath, type SourceMap } from './source-map.js';
import type { SyntaxNode } from './syntax.js';

const posOf = (t: readonly Token[]): SourcePos[] => t.map((x) => x.pos);
const texts = (t: readonly Token[]): string[] => t.map((x) => x.text);

/** Builds the raw tree of a whole file set. */
export function keepalivedRawTree(nodes: readonly SyntaxNode[], map: SourceMap, diags: Diagnostics): RawBlock {
  return buildBlock(nodes, ROOT, '', map, diags);
}

function buildBlock(nodes: readonly SyntaxNode[], spec: BlockSpec | null, path: string, map: SourceMap, diags: Diagnostics): RawBlock {
  const out = rawBlock();
  const leaves = new LeafTracker();
  // Occurrence counts first, so a repeated keyed/repeat block gets indexed paths from the start.
  const counts = new Map<string, number>();
  for (const n of nodes) {
    if (n.words.length === 0) continue;
    const kw = n.words[0]!.text;
    const ks = specOf(spec, kw);
    if (!ks || !n.block) continue;
    if (ks.t === 'repeat') counts.set(kw, (counts.get(kw) ?? 0) + 1);
    if (ks.t === 'keyed') {
      const key = `${kw}\u0000${texts(n.words.slice(1)).join(' ')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const seenIndex = new Map<string, number>();

  for (const n of nodes) {
    if (n.words.length === 0) continue; // anonymous `{` block, already reported
    const kwTok = n.words[0]!;
    const kw = kwTok.text;
    const args = n.words.slice(1);
    const kwPath = childPath(path, kw);
    const ks: KwSpec | undefined = specOf(spec, kw);

    if (!ks) {
      // Unknown here: keep it so the schema reports it (with "did you mean").
      if (out[kw] === undefined) {
        out[kw] = n.block ? genericBlock(n.block) : args.length ? texts(args) : true;
        map.set(kwPath, kwTok.pos, posOf(args));
      }
      continue;
    }

    switch (ks.t) {
      case 'unsupported': {
        if (out[kw] === undefined) {
          out[kw] = n.block ? genericBlock(n.block) : args.length ? texts(args) : true;
          map.set(kwPath, kwTok.pos, posOf(args));
        }
        break;
      }
      case 'leaf': {
        if (n.block) diags.error(CODES.SYNTAX, n.open, kwPath, `\`${kw}\` takes no \`{ }\` block`);
        leaves.note(out, kw, ks, kwTok.pos, kwPath, diags);
        out[kw] = args.length ? texts(args) : true;
        map.set(kwPath, kwTok.pos, posOf(args));
        break;
      }
      case 'block': {
        if (!needBlock(n, kw, kwPath, diags)) break;
        if (args.length) diags.error(CODES.SYNTAX, args[0]!.pos, kwPath, `\`${kw}\` takes no arguments before \`{\``);
        if (out[kw] !== undefined) {
          diags.warn(CODES.W_REPEATED, kwTok.pos, kwPath, `\`${kw}\` block given again; its keywords are merged into the first one`);
          const merged = buildBlock(n.block!, ks.block, kwPath, map, diags);
          Object.assign(out[kw] as RawBlock, merged);
        } else {
          map.set(kwPath, kwTok.pos, []);
          out[kw] = buildBlock(n.block!, ks.block, kwPath, map, diags);
        }
        break;
      }
      case 'named':
      case 'namedList': {
        if (!needBlock(n, kw, kwPath, diags)) break;
        if (args.length !== 1) {
          if (args.length === 0) diags.error(CODES.SYNTAX, kwTok.pos, kwPath, `\`${kw}\` needs a name: \`${kw} NAME {\``);
          else diags.error(CODES.SYNTAX, args[1]!.pos, kwPath, `\`${kw}\` takes one name; unexpected \`${args[1]!.text}\``);
          break;
        }
        const name = args[0]!.text;
        const coll = (out[kw] ??= Object.create(null)) as Record<string, unknown>;
        if (!map.get(kwPath)) map.set(kwPath, kwTok.pos, []);
        const memberPath = childPath(kwPath, name);
        if (coll[name] !== undefined) {
          const first = map.get(memberPath);
          diags.error(CODES.DUPLICATE, args[0]!.pos, memberPath,
            `${kw} \`${name}\` is defined twice${first ? ` (first at ${first.kw.file}:${first.kw.line}:${first.kw.col})` : ''}`);
          break;
        }
        map.set(memberPath, kwTok.pos, [args[0]!.pos]);
        coll[name] = ks.t === 'named'
          ? buildBlock(n.block!, ks.block, memberPath, map, diags)
          : buildLines(n.block!, memberPath, map, diags);
        break;
      }
      case 'keyed': {
        if (!needBlock(n, kw, kwPath, diags)) break;
        if (args.length === 0) {
          diags.error(CODES.SYNTAX, kwTok.pos, kwPath, `\`${kw}\` needs ${ks.syntax ?? 'arguments'} before \`{\``);
          break;
        }
        const key = texts(args).join(' ');
        const coll = (out[kw] ??= Object.create(null)) as Record<string, RawBlock | RawBlock[]>;
        if (!map.get(kwPath)) map.set(kwPath, kwTok.pos, []);
        const ck = `${kw}\u0000${key}`;
        const total = counts.get(ck) ?? 1;
        let memberPath = childPath(kwPath, key);
        if (total > 1) {
          const idx = seenIndex.get(ck) ?? 0;
          seenIndex.set(ck, idx + 1);
          if (idx === 0) map.set(memberPath, kwTok.pos, posOf(args));
          memberPath = indexPath(memberPath, idx);
          map.set(memberPath, kwTok.pos, posOf(args));
          const body = buildBlock(n.block!, ks.block, memberPath, map, diags);
          ((coll[key] ??= []) as RawBlock[]).push(body);
        } else {
          map.set(memberPath, kwTok.pos, posOf(args));
          coll[key] = buildBlock(n.block!, ks.block, memberPath, map, diags);
        }
        break;
      }
      case 'repeat': {
        if (!needBlock(n, kw, kwPath, diags)) break;
        if (args.length) diags.error(CODES.SYNTAX, args[0]!.pos, kwPath, `\`${kw}\` takes no arguments before \`{\``);
        const total = counts.get(kw) ?? 1;
        if (total > 1) {
          const idx = seenIndex.get(kw) ?? 0;
          seenIndex.set(kw, idx + 1);
          if (idx === 0) map.set(kwPath, kwTok.pos, []);
          const p = indexPath(kwPath, idx);
          map.set(p, kwTok.pos, []);
          ((out[kw] ??= []) as RawBlock[]).push(buildBlock(n.block!, ks.block, p, map, diags));
        } else {
          map.set(kwPath, kwTok.pos, []);
          out[kw] = buildBlock(n.block!, ks.block, kwPath, map, diags);
        }
        break;
      }
      case 'list': {
        if (!needBlock(n, kw, kwPath, diags)) break;
        if (args.length) diags.error(CODES.SYNTAX, args[0]!.pos, kwPath, `\`${kw}\` takes its entries inside \`{ }\`, not on the keyword line`);
        const existing = out[kw] as string[][] | undefined;
        if (!existing) map.set(kwPath, kwTok.pos, []);
        const lines = buildLines(n.block!, kwPath, map, diags, existing?.length ?? 0);
        // keepalived appends a repeated value block to the first (alloc_value_block).
        out[kw] = existing ? [...existing, ...lines] : lines;
        break;
      }
    }
  }
  return out;
}

function needBlock(n: SyntaxNode, kw: string, path: string, diags: Diagnostics): boolean {
  if (n.block) return true;
  diags.error(CODES.SYNTAX, n.words[0]!.pos, path, `\`${kw}\` needs a \`{ }\` block`);
  return false;
}

function buildLines(nodes: readonly SyntaxNode[], path: string, map: SourceMap, diags: Diagnostics, start = 0): string[][] {
  const out: string[][] = [];
  for (const n of nodes) {
    if (n.block) diags.error(CODES.SYNTAX, n.open, path, 'unexpected `{`: the lines of this block are data, not keywords');
    if (n.words.length === 0) continue;
    map.set(indexPath(path, start + out.length), n.words[0]!.pos, posOf(n.words));
    out.push(texts(n.words));
  }
  return out;
}

/** Unknown or unsupported block: keep its words for the record (never validated). */
function genericBlock(nodes: readonly SyntaxNode[]): RawBlock {
  const out = rawBlock();
  for (const n of nodes) {
    if (n.words.length === 0) continue;
    const kw = n.words[0]!.text;
    out[kw] = n.block ? genericBlock(n.block) : n.words.length > 1 ? texts(n.words.slice(1)) : true;
  }
  return out;
}
