/**
 * keepalived.conf reading: comments, quotes and escapes, braces anywhere, `{` on the next
 * line, line continuation, `$NAME` definitions, `@id` conditionals, `~SEQ`/`~LST`, includes
 * (globs, braces, relative directories, cycles, missing files), CRLF files, and the exact
 * position of every token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Diagnostics } from '../../../src/config/diagnostics.js';
import { expandBraces, globFiles } from '../../../src/config/glob.js';
import { readKeepalivedText } from '../../../src/config/keepalived-reader.js';
import type { Segment } from '../../../src/config/lexer.js';
import { buildSyntaxTree } from '../../../src/config/syntax.js';

function read(text: string, configId = 'node-a', file = 'r.conf') {
  const diags = new Diagnostics();
  const r = readKeepalivedText(text, file, diags, { configId });
  return { ...r, diags: diags.list };
}

/** Segments as compact strings: `{`, `}`, or words joined by `|` with line:col of the first. */
function show(segs: readonly Segment[]): string[] {
  return segs.map((s) => (s.kind === 'open' ? `{@${s.pos.line}:${s.pos.col}` : s.kind === 'close' ? `}@${s.pos.line}:${s.pos.col}`
    : `${s.tokens.map((t) => t.text).join('|')}@${s.tokens[0]!.pos.line}:${s.tokens[0]!.pos.col}`));
}

test('comments: # and ! anywhere outside double quotes; \\# and \\! are literal', () => {
  const r = read('a b # comment\n! whole line\nc "x # y" ! trailing\nd \\#e \\!f\n\'g # h\'');
  assert.deepEqual(show(r.segments), ['a|b@1:1', 'c|x # y@3:1', 'd|#e|!f@4:1', "g@5:1"]);
  // keepalived protects comment characters with double quotes only (lib/parser.c decomment)
  assert.deepEqual(r.diags.map((d) => d.message), ['unterminated quoted string (missing closing \')']);
});

test('quotes may start mid-word and escapes are decoded inside and outside quotes', () => {
  const r = read('x abcd" efg h "jkl \'p q\' "a\\"b" \\x41\\t\\101 "\\n"');
  const toks = (r.segments[0] as Extract<Segment, { kind: 'words' }>).tokens;
  assert.deepEqual(toks.map((t) => t.text), ['x', 'abcd efg h jkl', 'p q', 'a"b', 'A\tA', '\n']);
  assert.deepEqual(toks.map((t) => t.pos.col), [1, 3, 20, 26, 33, 44]);
  assert.equal(toks[2]!.quoted, true);
});

test('braces stand alone wherever they are; quoted braces are words', () => {
  const r = read('vrrp_instance VI_1 { state MASTER }\nvirtual_ipaddress {\n 198.18.0.1}\nx "{" }');
  assert.deepEqual(show(r.segments), [
    'vrrp_instance|VI_1@1:1', '{@1:20', 'state|MASTER@1:22', '}@1:35',
    'virtual_ipaddress@2:1', '{@2:19', '198.18.0.1@3:2', '}@3:12', 'x|{@4:1', '}@4:7',
  ]);
});

test('`{` on the next line opens the block of the statement before it', () => {
  const diags = new Diagnostics();
  const r = readKeepalivedText('global_defs\n{\n  router_id x\n}\n', 'n.conf', diags, { configId: '' });
  const tree = buildSyntaxTree(r.segments, diags);
  assert.equal(tree.length, 1);
  assert.equal(tree[0]!.words[0]!.text, 'global_defs');
  assert.deepEqual(tree[0]!.block!.map((n) => n.words.map((w) => w.text)), [['router_id', 'x']]);
  assert.deepEqual(tree[0]!.open, { file: 'n.conf', line: 2, col: 1 });
  assert.deepEqual(diags.list, []);
});

test('a trailing backslash continues any line (lvsd); tokens keep their own line', () => {
  const r = read('lvs_timeouts tcp 900 \\\n    tcpfin 120 \\\n    udp 300\n');
  const toks = (r.segments[0] as Extract<Segment, { kind: 'words' }>).tokens;
  assert.deepEqual(toks.map((t) => `${t.text}@${t.pos.line}:${t.pos.col}`),
    ['lvs_timeouts@1:1', 'tcp@1:14', '900@1:18', 'tcpfin@2:5', '120@2:12', 'udp@3:5', '300@3:9']);
});

test('CRLF line endings read as LF', () => {
  assert.deepEqual(show(read('a 1\r\nb 2\r\n').segments), ['a|1@1:1', 'b|2@2:1']);
});

test('$NAME definitions: substitution at use time, ${NAME}, recursion, undefined names untouched', () => {
  const r = read('$BASE=198.18.${SUB}\n$SUB=0\nip ${BASE}.10/24\n$SUB=1\nip ${BASE}.10/24 $UNDEF ${_HASH}x\nscript "$HOME/x"\n');
  assert.deepEqual(show(r.segments), ['ip|198.18.0.10/24@3:1', 'ip|198.18.1.10/24|$UNDEF|#x@5:1', 'script|$HOME/x@6:1']);
  // substituted words point at the `$` of their reference
  const t = (r.segments[0] as Extract<Segment, { kind: 'words' }>).tokens[1]!;
  assert.deepEqual(t.pos, { file: 'r.conf', line: 3, col: 4 });
});

test('multi-line definitions expand into several lines', () => {
  const text = ['$RS= \\', 'real_server 198.18.0.${N} 80 { \\', '    weight ${N} \\', '}', '$N=7', '$RS', ''].join('\n');
  assert.deepEqual(show(read(text).segments), ['real_server|198.18.0.7|80@6:1', '{@6:1', 'weight|7@6:1', '}@6:1']);
});

test('a definition that refers to itself is an error, not a hang', () => {
  const r = read('$A=x $B\n$B=$A\nk $A\n');
  assert.equal(r.diags.length, 1);
  assert.match(r.diags[0]!.message, /nests too deep/);
  assert.deepEqual(r.diags[0]!.pos, { file: 'r.conf', line: 3, col: 3 });
});

test('@id and @^id conditional lines follow the config id', () => {
  const text = '@node-a p 150\n@node-b p 100\n@^node-a q 1\n@^node-b q 2\n@node-a\n';
  assert.deepEqual(show(read(text, 'node-a').segments), ['p|150@1:9', 'q|2@4:10']);
  assert.deepEqual(show(read(text, 'node-b').segments), ['p|100@2:9', 'q|1@3:10']);
});

test('~SEQ, ~SEQx and ~LST repeat a line', () => {
  assert.deepEqual(show(read('~SEQ(N, 1, 2, 5) ip 198.18.0.${N}\n').segments).map((s) => s.split('@')[0]),
    ['ip|198.18.0.1', 'ip|198.18.0.3', 'ip|198.18.0.5']);
  assert.deepEqual(show(read('~SEQ(N, 3) x ${N}\n').segments).map((s) => s.split('@')[0]), ['x|1', 'x|2', 'x|3']);
  assert.deepEqual(show(read('~SEQx(H, 9, 11) ip 2001:db8::${H}\n').segments).map((s) => s.split('@')[0]),
    ['ip|2001:db8::9', 'ip|2001:db8::a', 'ip|2001:db8::b']);
  assert.deepEqual(show(read('~LST({A, B}, {1, x}, {2, y}) v ${A} ${B}\n').segments).map((s) => s.split('@')[0]), ['v|1|x', 'v|2|y']);
  assert.deepEqual(show(read('~LST(V, a, b) ~SEQ(N, 1, 2) w ${V}${N}\n').segments).map((s) => s.split('@')[0]),
    ['w|a1', 'w|a2', 'w|b1', 'w|b2']);
  const bad = read('~SEQ(N, 1, -1, 5) x\n~LST(V) y\n');
  assert.deepEqual(bad.diags.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.code}`), ['1:1 ERR_CONFIG_SYNTAX', '2:1 ERR_CONFIG_SYNTAX']);
});

test('${_RANDOM} is reported as not supported, and left as written', () => {
  const r = read('x ${_RANDOM}\n');
  assert.equal(r.diags[0]!.code, 'WARN_CONFIG_UNSUPPORTED');
  assert.deepEqual(show(r.segments), ['x|${_RANDOM}@1:1']);
});

test('csh brace expansion', () => {
  assert.deepEqual(expandBraces('a{b,c{d,e}}f'), ['abf', 'acdf', 'acef']);
  assert.deepEqual(expandBraces('x{y}z'), ['x{y}z']);
  assert.deepEqual(expandBraces('{a,b}/*.conf'), ['a/*.conf', 'b/*.conf']);
});

test('includes: globs and braces relative to the including file, nested directories, cycles, missing files, executables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvt-cfg-inc-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'conf.d', '10-a.conf'), 'a 1\ninclude ../sub/deep.inc\n');
    writeFileSync(join(dir, 'conf.d', '20-b.conf'), 'b 2\n');
    writeFileSync(join(dir, 'conf.d', 'x.txt'), 'ignored 0\n');
    writeFileSync(join(dir, 'sub', 'deep.inc'), 'deep 3\n');
    writeFileSync(join(dir, 'loop.conf'), 'include main.conf\n');
    writeFileSync(join(dir, 'run.conf'), 'exec 9\n');
    chmodSync(join(dir, 'run.conf'), 0o755);
    const mainText = [
      'include conf.d/*.conf', 'include {conf.d/20-b,sub/deep}.{conf,inc}', 'include nothere.conf',
      'include empty.d/*.conf', 'includew empty.d/*.conf', 'include loop.conf', 'include run.conf', '',
    ].join('\n');
    writeFileSync(join(dir, 'main.conf'), mainText);
    const main = join(dir, 'main.conf');
    const diags = new Diagnostics();
    const r = readKeepalivedText(mainText, main, diags, { configId: '' });
    assert.deepEqual(show(r.segments).map((s) => s.split('@')[0]), ['a|1', 'deep|3', 'b|2', 'b|2', 'deep|3']);
    // included tokens carry their own file
    const deep = r.segments[1] as Extract<Segment, { kind: 'words' }>;
    assert.deepEqual(deep.tokens[0]!.pos, { file: join(dir, 'sub', 'deep.inc'), line: 1, col: 1 });
    assert.deepEqual(r.files, [main, join(dir, 'conf.d', '10-a.conf'), join(dir, 'sub', 'deep.inc'), join(dir, 'conf.d', '20-b.conf'),
      join(dir, 'conf.d', '20-b.conf'), join(dir, 'sub', 'deep.inc'), join(dir, 'loop.conf')]);
    assert.deepEqual(diags.list.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.severity} ${d.code}`), [
      '3:9 error ERR_CONFIG_INCLUDE_MISSING',
      '4:9 warning WARN_CONFIG_INCLUDE',
      '5:10 error ERR_CONFIG_INCLUDE_MISSING',
      '1:9 error ERR_CONFIG_INCLUDE_CYCLE',
      '7:9 warning WARN_CONFIG_INCLUDE',
    ]);
    assert.match(diags.list[3]!.message, /include cycle: .*main\.conf → .*loop\.conf → .*main\.conf/);
    assert.equal(diags.list[3]!.pos!.file, join(dir, 'loop.conf'));
    const g = globFiles('conf.d/*.conf', dir);
    assert.equal(g.wildcard, true);
    assert.deepEqual(g.files, [join(dir, 'conf.d', '10-a.conf'), join(dir, 'conf.d', '20-b.conf')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unbalanced braces are reported where they are', () => {
  const diags = new Diagnostics();
  const r = readKeepalivedText('a {\n b {\n }\n', 'u.conf', diags, { configId: '' });
  buildSyntaxTree(r.segments, diags);
  const diags2 = new Diagnostics();
  buildSyntaxTree(readKeepalivedText('}\n{\n}\n', 'v.conf', diags2, { configId: '' }).segments, diags2);
  assert.deepEqual(diags.list.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.message}`), ['1:3 block `a {` is never closed (missing `}`)']);
  assert.deepEqual(diags2.list.map((d) => `${d.pos!.line}:${d.pos!.col} ${d.message}`), [
    '1:1 extra `}`: no block is open here', '2:1 unexpected `{`: a block must follow a keyword',
  ]);
});
