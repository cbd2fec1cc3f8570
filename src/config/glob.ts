/**
 * The subset of glob(3) keepalived's `include` uses (GLOB_BRACE | GLOB_MARK): csh-style
 * braces `{a,b{c,d}}`, then `*`, `?` and `[...]` per path component. Matches are sorted per
 * pattern as glob(3) sorts them; directories are left out (keepalived skips them).
 * Node 20 has no fs.globSync, hence this small one.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** Expands csh-style braces: `a{b,c}d` → [`abd`, `acd`]; unbalanced braces stay literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        const inner = pattern.slice(open + 1, i);
        const alts = splitTopLevel(inner);
        if (alts.length < 2 && !inner.includes(',')) {
          // `{x}` with no comma is literal in csh; keep scanning after it.
          continue;
        }
        const pre = pattern.slice(0, open);
        const post = pattern.slice(i + 1);
        const out: string[] = [];
        for (const a of alts) out.push(...expandBraces(pre + a + post));
        return out;
      }
    }
  }
  return [pattern];
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) { cur += c + s[i + 1]; i++; continue; }
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

/** True when the pattern has a wildcard (`*`, `?`, `[`) after brace expansion. */
export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Converts one path component glob to a RegExp. */
function componentRegex(comp: string): RegExp {
  let re = '^';
  for (let i = 0; i < comp.length; i++) {
    const c = comp[i]!;
    if (c === '\\' && i + 1 < comp.length) { re += escapeRe(comp[++i]!); continue; }
    if (c === '*') { re += '[^/]*'; continue; }
    if (c === '?') { re += '[^/]'; continue; }
    if (c === '[') {
      const close = comp.indexOf(']', i + 2);
      if (close > 0) {
        let body = comp.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
        continue;
      }
    }
    re += escapeRe(c);
  }
  return new RegExp(re + '$');
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

/** Result of matching one include pattern. */
export interface GlobResult {
  /** Regular files matched, absolute paths, in glob(3) order. */
  readonly files: string[];
  /** True when the pattern (after brace expansion) contains a wildcard. */
  readonly wildcard: boolean;
}

/** Matches `pattern` (relative patterns against `baseDir`). Never throws. */
export function globFiles(pattern: string, baseDir: string): GlobResult {
  const files: string[] = [];
  let wildcard = false;
  for (const alt of expandBraces(pattern)) {
    const abs = isAbsolute(alt) ? alt : resolve(baseDir, alt);
    if (!hasWildcard(alt)) {
      if (isFile(abs)) files.push(abs);
      continue;
    }
    wildcard = true;
    const comps = abs.split('/').filter((c, i) => c !== '' || i === 0);
    let dirs = ['/'];
    for (let ci = 1; ci < comps.length; ci++) {
      const comp = comps[ci]!;
      const last = ci === comps.length - 1;
      const next: string[] = [];
      if (!hasWildcard(comp)) {
        for (const d of dirs) next.push(join(d, comp));
      } else {
        const re = componentRegex(comp);
        for (const d of dirs) {
          let names: string[];
          try {
            names = readdirSync(d);
          } catch {
            continue;
          }
          names.sort();
          for (const n of names) {
            if (n.startsWith('.') && !comp.startsWith('.')) continue;
            if (re.test(n)) next.push(join(d, n));
          }
        }
      }
      dirs = last ? next : next.filter(isDir);
    }
    for (const f of dirs) if (isFile(f)) files.push(f);
  }
  return { files, wildcard };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
