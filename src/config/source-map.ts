/**
 * Paths into the raw config tree and the side table of source positions per path.
 *
 * A path names one node: `vrrp_instance.VI_1.priority`. A segment that is not a plain word
 * (it holds dots, spaces, colons: collection keys such as `198.18.0.10 80`) is written in
 * brackets, `virtual_server[198.18.0.10 80].real_server[198.18.1.1 80].weight`; an index into
 * repeated blocks or value-block lines is `[N]`.
 */
import type { SourcePos } from '../lib/errors.js';
import type { NodeSource, SourceMapLike } from '../model/validated.js';

const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** Appends a key segment to a path. */
export function childPath(base: string, key: string): string {
  if (PLAIN.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${key}]`;
}

/** Appends an index segment (repeated block, value-block line) to a path. */
export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** The side table: file:line:col of each raw-tree node's keyword and arguments. */
export class SourceMap implements SourceMapLike {
  private readonly byPath = new Map<string, NodeSource>();

  set(path: string, kw: SourcePos, args: readonly SourcePos[]): void {
    this.byPath.set(path, { kw, args });
  }

  get(path: string): NodeSource | undefined {
    return this.byPath.get(path);
  }

  /** Position of a path's keyword, or of its argument `arg` when given and known. */
  pos(path: string, arg?: number | null): SourcePos | null {
    const n = this.byPath.get(path);
    if (!n) return null;
    if (arg !== undefined && arg !== null && arg >= 0) {
      if (arg < n.args.length) return n.args[arg]!;
      return n.args.length > 0 ? n.args[n.args.length - 1]! : n.kw;
    }
    return n.kw;
  }

  /** Position of a path or, failing that, of its nearest ancestor that has one. */
  nearest(path: string, arg?: number | null): SourcePos | null {
    let p = path;
    for (;;) {
      const hit = this.pos(p, p === path ? arg : undefined);
      if (hit) return hit;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return null;
      p = p.slice(0, cut);
    }
  }
}
