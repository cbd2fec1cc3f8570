/**
 * What the script-security stage (script-security.ts) needs to know about the machine: file
 * metadata without and with following links, realpath, users and groups, who the daemon is.
 * `realScriptHost()` reads the file system and /etc/passwd, /etc/group; tests give a table.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { Accounts } from '../lib/accounts.js';

/** One file's metadata, or the errno code (`ENOENT`, `EACCES`, ...) when it cannot be read. */
export type FileFacts =
  | {
      readonly kind: 'file' | 'dir' | 'symlink' | 'other';
      readonly uid: number;
      readonly gid: number;
      /** st_mode permission and special bits (07777). */
      readonly mode: number;
      readonly dev: number;
      readonly ino: number;
    }
  | { readonly error: string };

/** The machine as the script checks see it. */
export interface ScriptHost {
  /** lstat(2): a symlink is reported as one. */
  lstat(path: string): FileFacts;
  /** stat(2): links followed. */
  stat(path: string): FileFacts;
  /** realpath(3), or the errno code. */
  realpath(path: string): { readonly path: string } | { readonly error: string };
  /** getpwnam: uid and primary gid of a user name (or a numeric uid), null when unknown. */
  user(name: string): { readonly uid: number; readonly gid: number } | null;
  /** getgrnam: gid of a group name (or a numeric gid), null when unknown. */
  group(name: string): number | null;
  /** The daemon's effective uid and gid (scripts with no user run as the daemon). */
  readonly uid: number;
  readonly gid: number;
  /** Directories searched for a command given without a `/`. */
  readonly searchPath: readonly string[];
}

/**
 * The PATH scripts run with (src/io/script-runner.ts gives children this one), searched
 * for commands written without a `/`, as keepalived's find_path searches its PATH.
 */
export const SCRIPT_SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function facts(f: () => Stats): FileFacts {
  try {
    const st = f();
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    return { kind, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, dev: st.dev, ino: st.ino };
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
}

/** The real machine. */
export function realScriptHost(): ScriptHost {
  const accounts = new Accounts();
  return {
    lstat: (p) => facts(() => lstatSync(p)),
    stat: (p) => facts(() => statSync(p)),
    realpath: (p) => {
      try {
        return { path: realpathSync.native(p) };
      } catch (e) {
        return { error: (e as NodeJS.ErrnoException).code ?? String(e) };
      }
    },
    user: (name) => accounts.user(name),
    group: (name) => accounts.group(name),
    uid: typeof process.geteuid === 'function' ? process.geteuid() : 0,
    gid: typeof process.getegid === 'function' ? process.getegid() : 0,
    searchPath: SCRIPT_SEARCH_PATH,
  };
}
