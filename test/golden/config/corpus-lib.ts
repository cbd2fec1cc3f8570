/**
 * The config corpus: realistic keepalived.conf (and YAML) files that must load into an exact
 * model (`good/`), and broken ones that must fail with exact diagnostics (`bad/`).
 *
 * good/NAME.conf | good/NAME.yaml | good/NAME/main.conf  →  good/NAME.json (the model)
 *                                                            good/NAME.warnings (if any)
 * bad/NAME.conf | bad/NAME.yaml | bad/NAME/main.conf     →  bad/NAME.expected
 *
 * Diagnostics are `file:line:col: path: message [CODE]` with file names relative to this
 * directory. Scripts are checked (script security) against CORPUS_HOST, a machine where every
 * script exists as a root-owned 0755 file, so the findings do not depend on the machine that
 * runs the tests. Expectations are (re)written by `npx tsx test/golden/config/regen.ts` and
 * reviewed by eye before they are committed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, type LoadResult } from '../../../src/config/load.js';
import type { ConfigDiagnostic } from '../../../src/lib/errors.js';
import { formatConfigDiagnostic } from '../../../src/config/diagnostics.js';
import type { FileFacts, ScriptHost } from '../../../src/config/script-host.js';

export const CORPUS_DIR = fileURLToPath(new URL('.', import.meta.url));
/** Host name and config id every corpus load uses, so expectations do not depend on the machine. */
export const TEST_HOST = 'lvsd-test';

const CORPUS_DIRS = new Set(['/', '/etc', '/etc/keepalived', '/usr', '/usr/bin', '/usr/local', '/usr/local/bin', '/bin', '/opt']);
const CORPUS_USERS: Record<string, { uid: number; gid: number }> = {
  root: { uid: 0, gid: 0 }, keepalived_script: { uid: 990, gid: 990 }, 'lvsd-check': { uid: 991, gid: 991 },
  postgres: { uid: 992, gid: 992 }, keepalived: { uid: 993, gid: 993 }, nobody: { uid: 65534, gid: 65534 },
};
const CORPUS_GROUPS: Record<string, number> = { root: 0, keepalived_script: 990, lvsd: 991, keepalived: 993, nogroup: 65534 };

/**
 * The corpus's machine: the directories above and every other absolute path are root-owned
 * (0755), so every script exists and is safe; bare command names are found in /usr/bin; the
 * users the corpus names exist, keepalived_script among them; lvsd runs as root.
 */
export const CORPUS_HOST: ScriptHost = {
  lstat: (p) => corpusFacts(p),
  stat: (p) => corpusFacts(p),
  realpath: (p) => ({ path: p }),
  user: (n) => CORPUS_USERS[n] ?? null,
  group: (n) => CORPUS_GROUPS[n] ?? null,
  uid: 0,
  gid: 0,
  searchPath: ['/usr/bin'],
};

function corpusFacts(p: string): FileFacts {
  if (!p.startsWith('/')) return { error: 'ENOENT' };
  return { kind: CORPUS_DIRS.has(p) ? 'dir' : 'file', uid: 0, gid: 0, mode: 0o755, dev: 1, ino: p.length };
}

export interface CorpusCase {
  readonly kind: 'good' | 'bad';
  readonly name: string;
  /** Entry file, absolute. */
  readonly entry: string;
  /** Expectation base path (without extension), absolute. */
  readonly base: string;
}

/** Every case of good/ or bad/, sorted by name. */
export function listCases(kind: 'good' | 'bad'): CorpusCase[] {
  const dir = join(CORPUS_DIR, kind);
  const out: CorpusCase[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      const entry = ['main.conf', 'main.yaml'].map((f) => join(p, f)).find((f) => existsSync(f));
      if (entry) out.push({ kind, name, entry, base: p });
      continue;
    }
    const m = /^(.*)\.(conf|yaml|yml)$/.exec(name);
    if (m) out.push({ kind, name: m[1]!, entry: p, base: join(dir, m[1]!) });
  }
  return out;
}

/**
 * One diagnostic as the corpus writes it: file names (in the position and in the message,
 * e.g. "first at FILE:L:C") relative to the corpus directory.
 */
export function diagLine(d: ConfigDiagnostic): string {
  const rel = d.pos ? { ...d, pos: { ...d.pos, file: relative(CORPUS_DIR, d.pos.file) } } : d;
  const prefix = relative(process.cwd(), CORPUS_DIR) + '/';
  return formatConfigDiagnostic(rel).split(prefix).join('').split(CORPUS_DIR).join('');
}

/** Loads a case the way the corpus expects (relative path from the repository root). */
export function loadCase(c: CorpusCase): LoadResult {
  return loadConfigFile(relative(process.cwd(), c.entry), { hostname: TEST_HOST, configId: TEST_HOST, scriptHost: CORPUS_HOST });
}

/** The model as JSON text (what good/NAME.json holds). */
export function modelJson(r: LoadResult): string {
  return r.ok ? JSON.stringify(r.model, null, 2) + '\n' : 'null\n';
}

/** The diagnostics of a load as corpus lines. */
export function lines(r: LoadResult): string[] {
  return (r.ok ? r.warnings : r.diagnostics).map(diagLine);
}
