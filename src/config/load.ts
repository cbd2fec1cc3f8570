/**
 * Loading a configuration: file → raw tree (keepalived.conf syntax or YAML) → convict
 * validation → compile() → Model. The public entry points the CLI and daemon use.
 *
 * Nothing here throws for a bad config or an unreadable file: every problem comes back as a
 * diagnostic (`file:line:col: path: message`, see formatDiagnostic in src/lib/errors.ts),
 * all of them at once. A load either yields a complete Model or none (D10).
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { extname } from 'node:path';
import type { ConfigDiagnostic } from '../lib/errors.js';
import { compile } from '../model/compile.js';
import type { Model } from '../model/types.js';
import { CODES, Diagnostics, sortDiagnostics } from './diagnostics.js';
import { readKeepalivedText } from './keepalived-reader.js';
import { realScriptHost, type ScriptHost } from './script-host.js';
import { checkScripts, SCRIPT_CODES } from './script-security.js';
import { keepalivedRawTree } from './keepalived-tree.js';
import type { RawBlock } from './raw-tree.js';
import { validateRawTree } from './schema.js';
import { SourceMap } from './source-map.js';
import { buildSyntaxTree } from './syntax.js';
import { yamlRawTree } from './yaml-tree.js';

/** The outcome of a load: a model and its warnings, or every diagnostic found. */
export type LoadResult =
  | { ok: true; model: Model; warnings: ConfigDiagnostic[]; files: string[] }
  | { ok: false; diagnostics: ConfigDiagnostic[]; files: string[] };

/** Config syntaxes. */
export type ConfigFormat = 'keepalived' | 'yaml';

/** Optional inputs of a load (defaults suit the daemon). */
export interface LoadOptions {
  /** keepalived's config id for `@ID` lines (`keepalived -i`); default: the host name up to the first dot. */
  readonly configId?: string;
  /** Default `router_id`; default: the host name. */
  readonly hostname?: string;
  /** Force a syntax instead of guessing it from the extension and content. */
  readonly format?: ConfigFormat;
  /**
   * The machine the scripts are checked against (script security, src/config/script-security.ts).
   * loadConfigFile uses the real one unless given null; loadConfigText checks only when given one.
   */
  readonly scriptHost?: ScriptHost | null;
}

/**
 * keepalived's exit codes (keepalived/include/main.h `enum exit_code`), which `lvsd --test`
 * returns as `keepalived -t` does.
 */
export const EXIT_CODES = {
  OK: 0,
  NO_MEMORY: 1,
  PROGRAM_ERROR: 2,
  FATAL: 3,
  /** The config file is missing or unreadable (keepalived CONFIG_FILE_NOT_FOUND under -t). */
  CONFIG: 4,
  /** The config has errors (keepalived `-t` for any reported config error). */
  CONFIG_TEST: 5,
  /** Scripts are run while enable_script_security is off (keepalived CONFIG_SECURITY_ERROR under -t). */
  CONFIG_TEST_SECURITY: 6,
  /** No usable config at daemon start (keepalived outside -t: KEEPALIVED_EXIT_NO_CONFIG). */
  NO_CONFIG: 7,
} as const;

const FILE_CODES = new Set<string>([CODES.IO, CODES.INCLUDE_MISSING, CODES.INCLUDE_CYCLE]);
const STRUCTURAL = new Set<string>([CODES.SYNTAX, CODES.YAML, CODES.INCLUDE_MISSING, CODES.INCLUDE_CYCLE]);

/**
 * The `keepalived -t` exit code for a load: 0 when it loaded (warnings do not count), 6 when
 * it loaded but scripts are run without enable_script_security (keepalived's
 * CONFIG_SECURITY_ERROR, keepalived/core/main.c config_test_exit), 4 when the only errors
 * are about files that cannot be read, 5 for any other error.
 */
export function exitCodeFor(r: LoadResult): number {
  if (r.ok) return r.warnings.some((d) => d.code === SCRIPT_CODES.SECURITY) ? EXIT_CODES.CONFIG_TEST_SECURITY : EXIT_CODES.OK;
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 && errors.every((d) => FILE_CODES.has(d.code))) return EXIT_CODES.CONFIG;
  return EXIT_CODES.CONFIG_TEST;
}

/** Guesses the syntax: `.yaml`/`.yml` → YAML; otherwise YAML only when the content looks like it. */
export function detectFormat(fileName: string, text: string): ConfigFormat {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.conf') return 'keepalived';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    if (line === '---' || line.startsWith('%YAML')) return 'yaml';
    return /^[A-Za-z_][\w-]*\s*:(\s|$)/.test(line) ? 'yaml' : 'keepalived';
  }
  return 'keepalived';
}

function defaultConfigId(): string {
  return hostname().split('.')[0] ?? '';
}

/**
 * Loads a config given as text; `fileName` names it in diagnostics and anchors relative
 * `include`s. Never throws for bad config.
 */
export function loadConfigText(text: string, fileName: string, format?: ConfigFormat, opts: LoadOptions = {}): LoadResult {
  const diags = new Diagnostics();
  const map = new SourceMap();
  const fmt = format ?? opts.format ?? detectFormat(fileName, text);
  let raw: RawBlock | null;
  let files: string[];
  if (fmt === 'yaml') {
    files = [fileName];
    raw = yamlRawTree(text, fileName, map, diags);
  } else {
    const r = readKeepalivedText(text, fileName, diags, { configId: opts.configId ?? defaultConfigId() });
    files = r.files;
    raw = keepalivedRawTree(buildSyntaxTree(r.segments, diags), map, diags);
  }
  let model: Model | null = null;
  if (raw) {
    const validated = validateRawTree(raw, map, diags);
    // Meaning checks need the whole file: after a structural error (braces, includes, YAML)
    // parts may be missing and checks would invent errors, so those are reported alone.
    if (!diags.list.some((d) => d.severity === 'error' && STRUCTURAL.has(d.code))) {
      const c = compile(validated, map, { hostname: opts.hostname ?? hostname() });
      for (const d of c.diagnostics) diags.list.push(d);
      model = c.model;
      // Scripts are checked against the machine only for a config without errors (the model
      // is complete); keepalived -t would also report them next to other errors.
      if (model && diags.errorCount === 0 && opts.scriptHost) {
        const s = checkScripts(model, c.scriptPaths, map, opts.scriptHost);
        for (const d of s.diagnostics) diags.list.push(d);
        model = s.model;
      }
    }
  }
  const all = sortDiagnostics(diags.list, files);
  if (model && diags.errorCount === 0) {
    return { ok: true, model, warnings: all, files };
  }
  return { ok: false, diagnostics: all, files };
}

/** Loads a config file (keepalived.conf syntax or YAML). I/O problems are diagnostics too. */
export function loadConfigFile(path: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      return ioFailure(path, 'the config file is a directory');
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'does not exist' : err.code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${err.message})`;
    return ioFailure(path, `the config file ${why}`);
  }
  return loadConfigText(text, path, opts.format, { ...opts, scriptHost: opts.scriptHost === undefined ? realScriptHost() : opts.scriptHost });
}

/** The main file cannot be read: a diagnostic about the file as a whole (line 0, see formatConfigDiagnostic). */
function ioFailure(path: string, message: string): LoadResult {
  return { ok: false, diagnostics: [{ code: CODES.IO, severity: 'error', pos: { file: path, line: 0, col: 0 }, path: '', message }], files: [path] };
}
