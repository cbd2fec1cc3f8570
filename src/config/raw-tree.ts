/**
 * The raw tree: what both syntaxes produce and convict validates. Plain objects mirroring
 * the keepalived blocks, keyword names as written, every value still words:
 *
 * | keyword kind | raw value                                                     |
 * |--------------|---------------------------------------------------------------|
 * | leaf         | `true` (no argument) or the argument words `string[]`         |
 * | block        | a RawBlock                                                    |
 * | named        | `{ NAME: RawBlock }`                                          |
 * | namedList    | `{ NAME: string[][] }` (one word array per body line)         |
 * | keyed        | `{ "HEADER WORDS": RawBlock | RawBlock[] }` (array: repeated) |
 * | repeat       | `RawBlock | RawBlock[]`                                         |
 * | list         | `string[][]`                                                  |
 * | unsupported  | whatever was written                                          |
 *
 * Positions live beside it, in a SourceMap keyed by path (src/config/source-map.ts).
 */
import type { SourcePos } from '../lib/errors.js';
import { CODES, type Diagnostics } from './diagnostics.js';
import type { KwSpec } from './keywords.js';
import { canonicalOf } from './keywords.js';

/** A block of the raw tree. */
export interface RawBlock {
  [keyword: string]: RawValue;
}

/** Any raw value (see the table above). */
export type RawValue = true | string[] | string[][] | RawBlock | RawBlock[] | Record<string, RawBlock | RawBlock[] | string[][]> | unknown;

/** A new, prototype-free raw block (keys such as `constructor` stay plain keys). */
export function rawBlock(): RawBlock {
  return Object.create(null) as RawBlock;
}

/** Keys convict cannot carry; reported as unknown keywords directly. */
export const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype', '_cvtProperties']);

/**
 * Tracks single-valued keywords within one block so a repeated keyword (or an alias of one
 * given earlier, `lb_algo` then `lvs_sched`) is reported and the last one wins, as in keepalived.
 */
export class LeafTracker {
  private readonly seen = new Map<string, { kw: string; pos: SourcePos | null }>();

  /** Records `kw`; returns the earlier keyword to delete from the block, if any. */
  note(block: RawBlock, kw: string, spec: KwSpec, pos: SourcePos | null, path: string, diags: Diagnostics): void {
    const canon = canonicalOf(kw, spec);
    const prev = this.seen.get(canon);
    if (prev) {
      const where = prev.pos ? ` (line ${prev.pos.line})` : '';
      const msg = prev.kw === kw
        ? `\`${kw}\` given again; the earlier one${where} is ignored, as in keepalived`
        : `\`${kw}\` and \`${prev.kw}\`${where} set the same thing; the last one wins, as in keepalived`;
      diags.warn(CODES.W_REPEATED, pos, path, msg);
      delete block[prev.kw];
    }
    this.seen.set(canon, { kw, pos });
  }
}
