/**
 * Script security, as keepalived does it (lib/notify.c `check_script_secure`,
 * `check_security`, `find_path`, `get_default_script_user`; keepalived/vrrp/vrrp.c
 * `check_vrrp_script_security`; keepalived/check/check_data.c `check_check_script_security`
 * and check_misc.c `check_misc_script_security`). Run after compile() on a model without
 * errors, at every load (start, reload, `lvsd --test`), against the machine (ScriptHost).
 *
 * For every script lvsd would run (vrrp_script, notify*, quorum_up/down, notify_up/down,
 * misc_path):
 * - the user it runs as: its own `USER [GROUP]`, else `script_user`, else
 *   `keepalived_script` when that user exists, else the daemon's own (root). With
 *   `enable_script_security` the fallback to root is refused: a script with no user of its
 *   own and no `script_user` needs `keepalived_script` to exist, or it is disabled;
 * - a command without a `/` is looked up in PATH (a regular file executable by that user)
 *   and replaced by the full path found, with a warning to write it in full;
 * - the path is resolved (realpath); the command becomes the resolved path, keeping the
 *   file name written when it names the same file (programs that look at argv[0]);
 * - a script that cannot be found or is not executable by its user is disabled;
 * - when it runs as root (uid or gid 0, or a setuid/setgid-root file), every directory on
 *   its path and the file itself (and the target of a symlink) must be owned by root and not
 *   writable by group (unless the group is root) or others; a directory with the sticky bit
 *   may be writable (/tmp). Otherwise the script is insecure: refused (disabled) with
 *   `enable_script_security`, a warning without it;
 * - any script at all found while `enable_script_security` is off is keepalived's
 *   "SECURITY VIOLATION - scripts are being executed but script_security not enabled":
 *   one WARN_SCRIPT_SECURITY, and `lvsd --test` exits 6 (KEEPALIVED_EXIT_CONFIG_TEST_SECURITY).
 *
 * A disabled script is taken out of the model, as keepalived frees it: a vrrp_script
 * disappears with every track_script line naming it (the instances ignore it), a notify or
 * quorum script is not run, a MISC_CHECK is removed from its real server (one left without
 * checkers is up). Not done as keepalived: keepalived resolves the path with the script
 * user's effective ids (seteuid); lvsd resolves it as the daemon and checks the user's
 * execute permission from the mode bits (changing the euid of a threaded Node process is not
 * safe).
 */
import type { ConfigDiagnostic } from '../lib/errors.js';
import type { Model, ScriptCommand, ScriptUser } from '../model/types.js';
import type { FileFacts, ScriptHost } from './script-host.js';
import type { SourceMap } from './source-map.js';

/** Diagnostic codes of this stage (warnings: the config still loads; see docs/errors.md). */
export const SCRIPT_CODES = {
  /** Scripts are run while enable_script_security is off (keepalived's SECURITY VIOLATION; `-t` exits 6). */
  SECURITY: 'WARN_SCRIPT_SECURITY',
  /** A script run as root that a non-root user could change: refused with enable_script_security. */
  INSECURE: 'WARN_SCRIPT_INSECURE',
  /** A script that cannot run (not found, not executable, unknown user, refused): disabled. */
  DISABLED: 'WARN_SCRIPT_DISABLED',
  /** A command found by a PATH search: its full path is used. */
  PATH_SEARCH: 'WARN_SCRIPT_PATH_SEARCH',
} as const;

/** keepalived's default script user (lib/notify.c get_default_script_user). */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_IXUSR = 0o100;
const S_IXGRP = 0o010;
const S_IXOTH = 0o001;

type Ids = { uid: number; gid: number };
type Stat = Exclude<FileFacts, { readonly error: string }>;
type Failed = Extract<FileFacts, { readonly error: string }>;
const isErr = (f: FileFacts): f is Failed => 'error' in f;

/** keepalived is_executable(): can uid:gid execute this file (from the mode bits)? */
export function isExecutable(st: Stat, ids: Ids): boolean {
  return (ids.uid === 0 && (st.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0)
    || (ids.uid === st.uid && (st.mode & S_IXUSR) !== 0)
    || (ids.uid !== st.uid && ((ids.gid === st.gid && (st.mode & S_IXGRP) !== 0) || (ids.gid !== st.gid && (st.mode & S_IXOTH) !== 0)));
}

/**
 * keepalived check_security(): every prefix of `path` ("/", "/etc", "/etc/x", ...) read with
 * lstat; directories before the last part, a file or symlink last; each owned by root and
 * not writable by a non-root group or by others (a sticky directory may be). Returns the
 * first problem, or null when the path is safe.
 */
export function pathProblem(host: ScriptHost, path: string): { kind: 'missing' | 'type' | 'unsafe'; at: string; why: string } | null {
  const parts = path.split('/').filter((p) => p !== '');
  const prefixes = ['/', ...parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'))];
  for (let i = 0; i < prefixes.length; i++) {
    const at = prefixes[i]!;
    const last = i === prefixes.length - 1;
    const st = host.lstat(at);
    if (isErr(st)) return { kind: 'missing', at, why: `cannot be read (${st.error})` };
    if ((!last && st.kind !== 'dir') || (last && st.kind !== 'file' && st.kind !== 'symlink')) {
      return { kind: 'type', at, why: `is ${st.kind === 'symlink' ? 'a symlink' : `a ${st.kind}`} where a ${last ? 'file' : 'directory'} is expected` };
    }
    if (st.uid !== 0) return { kind: 'unsafe', at, why: `is owned by uid ${st.uid}` };
    const checked = (st.kind === 'dir' && (st.mode & S_ISVTX) === 0) || st.kind === 'file';
    if (checked && st.gid !== 0 && (st.mode & S_IWGRP) !== 0) return { kind: 'unsafe', at, why: `is writable by group ${st.gid}` };
    if (checked && (st.mode & S_IWOTH) !== 0) return { kind: 'unsafe', at, why: 'is writable by everyone' };
  }
  return null;
}

/** What the checks found for one command run as `ids`. */
export interface ScriptVerdict {
  /** The command exists (keepalived SC_ISSCRIPT). */
  readonly found: boolean;
  /** argv[0] to run (the PATH search or realpath result); null when unchanged. */
  readonly argv0: string | null;
  /** Found by a PATH search. */
  readonly searched: boolean;
  /** Why it cannot run at all (not found, not executable), or null. */
  readonly unusable: string | null;
  /** Runs as root (or setuid/setgid root): its path must be safe. */
  readonly asRoot: boolean;
  /** Why a non-root user could change it, or null. */
  readonly insecure: string | null;
  /** A part of its path of the wrong type (keepalived inhibits it whatever the setting). */
  readonly badType: string | null;
}

/** keepalived check_script_secure() for one command. */
export function checkCommand(host: ScriptHost, argv0: string, ids: Ids): ScriptVerdict {
  const none = { found: false, argv0: null, searched: false, asRoot: false, insecure: null, badType: null };
  let name = argv0;
  let searched = false;
  if (!name.includes('/')) {
    // keepalived find_path(): a regular file executable by the script's user, first in PATH.
    let denied = false;
    let hit: string | null = null;
    for (const dir of host.searchPath) {
      const cand = `${dir.replace(/\/+$/, '')}/${name}`;
      const st = host.stat(cand);
      if (isErr(st)) continue;
      if (st.kind !== 'file' || !isExecutable(st, ids)) {
        denied = true;
        continue;
      }
      hit = cand;
      break;
    }
    if (!hit) return { ...none, unusable: denied ? `\`${name}\` is in PATH but not executable by uid ${ids.uid}` : `\`${name}\` is not found in PATH (${host.searchPath.join(':')})` };
    name = hit;
    searched = true;
  }
  const real = host.realpath(name);
  if ('error' in real) return { ...none, argv0: searched ? name : null, searched, unusable: `\`${name}\` cannot be accessed (${real.error})` };
  // Keep the file name written when it names the same file (some programs look at argv[0]).
  let run = real.path;
  let realFile: string | null = null;
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  if (real.path !== name && base(real.path) !== base(name)) {
    const keep = real.path.slice(0, real.path.lastIndexOf('/') + 1) + base(name);
    const a = host.stat(real.path);
    const b = host.stat(keep);
    if (!isErr(a) && !isErr(b) && a.dev === b.dev && a.ino === b.ino) {
      run = keep;
      realFile = real.path;
    }
  }
  const st = host.stat(realFile ?? run);
  const changed = run !== argv0 ? run : null;
  if (isErr(st)) return { ...none, argv0: changed, searched, unusable: `\`${run}\` cannot be accessed (${st.error})` };
  if (st.kind !== 'file') return { ...none, found: true, argv0: changed, searched, unusable: `\`${run}\` is not a regular file` };
  if (!isExecutable(st, ids)) {
    return { ...none, found: true, argv0: changed, searched, unusable: `\`${run}\` is not executable by uid:gid ${ids.uid}:${ids.gid}` };
  }
  const asRoot = ids.uid === 0 || ids.gid === 0
    || (st.uid === 0 && (st.mode & S_IXUSR) !== 0 && (st.mode & S_ISUID) !== 0)
    || (st.gid === 0 && (st.mode & S_IXGRP) !== 0 && (st.mode & S_ISGID) !== 0);
  let insecure: string | null = null;
  let badType: string | null = null;
  if (asRoot) {
    for (const p of realFile ? [run, realFile] : [run]) {
      const pr = pathProblem(host, p);
      if (!pr) continue;
      const text = `\`${pr.at}\` ${pr.why}`;
      if (pr.kind === 'unsafe') insecure ??= text;
      else badType ??= text;
      break;
    }
  }
  return { found: true, argv0: changed, searched, unusable: null, asRoot, insecure, badType };
}

/** Where a script sits in the model, and how to change it there. */
interface Site {
  readonly cmd: ScriptCommand;
  /** The script's own user, if any. */
  readonly own: ScriptUser | null;
  /** `notify_master of vrrp_instance VI_1`. */
  readonly what: string;
  /** What disabling it means. */
  readonly effect: string;
  /** Sets the command (new argv) or removes it (null) in a mutable copy of the model. */
  readonly set: (m: MutableModel, cmd: ScriptCommand | null) => void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
type MutableModel = Mutable<Model>;

const NOTIFY_KEYWORDS = {
  master: 'notify_master', backup: 'notify_backup', fault: 'notify_fault', stop: 'notify_stop',
  generic: 'notify', masterRxLowerPri: 'notify_master_rx_lower_pri',
} as const;

function sitesOf(m: Model): Site[] {
  const out: Site[] = [];
  for (const [name, s] of Object.entries(m.vrrpScripts)) {
    out.push({
      cmd: s.script, own: s.user, what: `vrrp_script ${name}`,
      effect: 'the instances and sync groups tracking it ignore it, as keepalived does',
      set: (x, cmd) => {
        if (cmd) {
          x.vrrpScripts[name]!.script = cmd as Mutable<ScriptCommand>;
          return;
        }
        delete x.vrrpScripts[name];
        for (const i of Object.values(x.instances)) i.trackScripts = i.trackScripts.filter((t) => t.name !== name);
        for (const g of Object.values(x.syncGroups)) g.trackScripts = g.trackScripts.filter((t) => t.name !== name);
      },
    });
  }
  const notify = (kind: 'vrrp_instance' | 'vrrp_sync_group', name: string, n: Model['instances'][string]['notify'], get: (x: MutableModel) => Mutable<Model['instances'][string]['notify']>) => {
    for (const [slot, kw] of Object.entries(NOTIFY_KEYWORDS) as Array<[keyof typeof NOTIFY_KEYWORDS, string]>) {
      const cmd = n[slot];
      if (!cmd) continue;
      out.push({ cmd, own: cmd.user ?? null, what: `${kw} of ${kind} ${name}`, effect: 'it is not run', set: (x, c) => { get(x)[slot] = c as Mutable<ScriptCommand> | null; } });
    }
  };
  for (const [name, i] of Object.entries(m.instances)) notify('vrrp_instance', name, i.notify, (x) => x.instances[name]!.notify);
  for (const [name, g] of Object.entries(m.syncGroups)) notify('vrrp_sync_group', name, g.notify, (x) => x.syncGroups[name]!.notify);
  for (const [vk, vs] of Object.entries(m.virtualServers)) {
    for (const [slot, kw] of [['quorumUp', 'quorum_up'], ['quorumDown', 'quorum_down']] as const) {
      const cmd = vs[slot];
      if (cmd) out.push({ cmd, own: cmd.user ?? null, what: `${kw} of virtual_server ${vk}`, effect: 'it is not run', set: (x, c) => { x.virtualServers[vk]![slot] = c as Mutable<ScriptCommand> | null; } });
    }
    for (const [rk, rs] of Object.entries(vs.realServers)) {
      for (const [slot, kw] of [['notifyUp', 'notify_up'], ['notifyDown', 'notify_down']] as const) {
        const cmd = rs[slot];
        if (cmd) {
          out.push({ cmd, own: cmd.user ?? null, what: `${kw} of real_server ${rk} in ${vk}`, effect: 'it is not run', set: (x, c) => { x.virtualServers[vk]!.realServers[rk]![slot] = c as Mutable<ScriptCommand> | null; } });
        }
      }
      for (const c of rs.checkers) {
        if (c.kind !== 'misc') continue;
        const ck = c.key;
        out.push({
          cmd: c.path, own: c.user, what: `MISC_CHECK ${ck} of real_server ${rk} in ${vk}`,
          effect: rs.checkers.length === 1 ? 'the check is removed, as keepalived does: the real server has no checker left and counts as up' : 'the check is removed, as keepalived does',
          set: (x, cmd) => {
            const r = x.virtualServers[vk]!.realServers[rk]!;
            if (cmd) {
              const mc = r.checkers.find((k) => k.key === ck);
              if (mc && mc.kind === 'misc') mc.path = cmd as Mutable<ScriptCommand>;
            } else {
              r.checkers = r.checkers.filter((k) => k.key !== ck);
            }
          },
        });
      }
    }
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

const userText = (u: ScriptUser) => `${u.user}${u.group ? `:${u.group}` : ''}`;

/** The result of the stage: the model to run (disabled scripts out, commands resolved) and its findings. */
export interface ScriptCheckResult {
  readonly model: Model;
  readonly diagnostics: ConfigDiagnostic[];
}

/** Checks every script of `model` on `host`; see the file comment for the rules. */
export function checkScripts(model: Model, scriptPaths: WeakMap<ScriptCommand, string>, map: SourceMap, host: ScriptHost): ScriptCheckResult {
  const sites = sitesOf(model);
  const diags: ConfigDiagnostic[] = [];
  const security = model.global.enableScriptSecurity;
  const pathOf = (s: Site) => scriptPaths.get(s.cmd) ?? '';
  const at = (s: Site) => map.pos(pathOf(s), 0);
  const warn = (code: string, s: Site, message: string) => diags.push({ code, severity: 'warning', pos: at(s), path: pathOf(s), message });

  const resolve = (u: ScriptUser): Ids | null => {
    const pw = host.user(u.user);
    if (!pw) return null;
    if (!u.group) return pw;
    const gid = host.group(u.group);
    return gid === null ? null : { uid: pw.uid, gid };
  };

  // The user of scripts that name none: script_user, else keepalived_script if it exists,
  // else (only without enable_script_security) the daemon's own.
  let setDefault: ScriptUser | null = null;
  let fallback: { ids: Ids | null; why: string } | null = null;
  if (model.global.scriptUser) {
    const ids = resolve(model.global.scriptUser);
    fallback = { ids, why: `script_user \`${userText(model.global.scriptUser)}\` does not exist` };
  } else if (sites.some((s) => !s.own)) {
    const ids = host.user(DEFAULT_SCRIPT_USER);
    if (ids) {
      setDefault = { user: DEFAULT_SCRIPT_USER, group: null };
      fallback = { ids, why: '' };
    } else if (security) {
      fallback = { ids: null, why: `no script_user is set and the default user \`${DEFAULT_SCRIPT_USER}\` does not exist (with enable_script_security scripts do not fall back to root)` };
    } else {
      fallback = { ids: { uid: host.uid, gid: host.gid }, why: '' };
    }
  }

  const copy = JSON.parse(JSON.stringify(model)) as MutableModel;
  if (setDefault) copy.global.scriptUser = setDefault;
  let found: Site[] = [];
  let asRoot = 0;
  for (const s of sites) {
    const ids = s.own ? resolve(s.own) : fallback!.ids;
    const argv0 = s.cmd.argv[0] ?? '';
    if (!ids) {
      warn(SCRIPT_CODES.DISABLED, s, `${s.what} is disabled: ${s.own ? `its user \`${userText(s.own)}\` does not exist` : fallback!.why}; ${s.effect}`);
      s.set(copy, null);
      continue;
    }
    const v = checkCommand(host, argv0, ids);
    if (v.found) found.push(s);
    if (v.searched && v.argv0) warn(SCRIPT_CODES.PATH_SEARCH, s, `\`${argv0}\` of ${s.what} was found by a PATH search at \`${v.argv0}\`; write the full path`);
    if (v.unusable) {
      warn(SCRIPT_CODES.DISABLED, s, `${s.what} is disabled: ${v.unusable}; ${s.effect}`);
      s.set(copy, null);
      continue;
    }
    if (v.badType) {
      warn(SCRIPT_CODES.DISABLED, s, `${s.what} is disabled: it runs as root and ${v.badType}; ${s.effect}`);
      s.set(copy, null);
      continue;
    }
    if (v.asRoot) asRoot++;
    if (v.insecure) {
      if (security) {
        warn(SCRIPT_CODES.INSECURE, s, `${s.what} is refused (enable_script_security): it runs as root and ${v.insecure}, so a non-root user could change what root runs; ${s.effect}`);
        s.set(copy, null);
        continue;
      }
      warn(SCRIPT_CODES.INSECURE, s, `${s.what} runs as root and ${v.insecure}, so a non-root user could change what root runs; enable_script_security would refuse it`);
    }
    if (v.argv0) s.set(copy, { ...s.cmd, argv: [v.argv0, ...s.cmd.argv.slice(1)] });
  }
  if (!security && found.length > 0) {
    // One finding, at the first script in the file (keepalived reports it once per process).
    found = found.slice().sort((a, b) => {
      const pa = at(a);
      const pb = at(b);
      if (!pa || !pb) return pa ? -1 : pb ? 1 : 0;
      return pa.file === pb.file ? pa.line - pb.line || pa.col - pb.col : 0;
    });
    const first = found[0]!;
    diags.push({
      code: SCRIPT_CODES.SECURITY, severity: 'warning', pos: at(first), path: pathOf(first),
      message: `SECURITY VIOLATION: ${found.length} script(s) are run (${asRoot} as root) but enable_script_security is not set in global_defs (keepalived -t exits 6)`,
    });
  }
  return { model: deepFreeze(copy) as Model, diagnostics: diags };
}
