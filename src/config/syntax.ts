/**
 * Builds the keepalived syntax tree from the segment stream: a statement is one word
 * line; a `{` that follows a statement (on the same line or the next one, as keepalived
 * accepts) opens that statement's block, a `}` closes the innermost open block.
 * Whether a keyword may have a block is decided later, against the keyword table.
 */
import type { SourcePos } from '../lib/errors.js';
import { CODES, type Diagnostics } from './diagnostics.js';
import type { Segment, Token } from './lexer.js';

/** One keepalived statement: its words and, when a `{ }` followed it, the statements inside. */
export interface SyntaxNode {
  readonly words: readonly Token[];
  block: SyntaxNode[] | null;
  open: SourcePos | null;
  close: SourcePos | null;
}

/** Builds the tree; unbalanced braces are reported, never thrown. */
export function buildSyntaxTree(segments: readonly Segment[], diags: Diagnostics): SyntaxNode[] {
  const root: SyntaxNode[] = [];
  const stack: Array<{ nodes: SyntaxNode[]; owner: SyntaxNode | null }> = [{ nodes: root, owner: null }];
  for (const seg of segments) {
    const top = stack[stack.length - 1]!;
    if (seg.kind === 'words') {
      top.nodes.push({ words: seg.tokens, block: null, open: null, close: null });
    } else if (seg.kind === 'open') {
      let owner = top.nodes[top.nodes.length - 1];
      if (!owner || owner.block !== null) {
        diags.error(CODES.SYNTAX, seg.pos, '', 'unexpected `{`: a block must follow a keyword');
        owner = { words: [], block: null, open: null, close: null };
        top.nodes.push(owner);
      }
      owner.block = [];
      owner.open = seg.pos;
      stack.push({ nodes: owner.block, owner });
    } else {
      if (stack.length === 1) {
        diags.error(CODES.SYNTAX, seg.pos, '', 'extra `}`: no block is open here');
        continue;
      }
      stack[stack.length - 1]!.owner!.close = seg.pos;
      stack.pop();
    }
  }
  for (let i = stack.length - 1; i >= 1; i--) {
    const owner = stack[i]!.owner!;
    const what = owner.words.map((w) => w.text).join(' ') || '{';
    diags.error(CODES.SYNTAX, owner.open, '', `block \`${what} {\` is never closed (missing \`}\`)`);
  }
  return root;
}
