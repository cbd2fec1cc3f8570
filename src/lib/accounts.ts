/**
 * Users and groups as getpwnam(3) / getgrnam(3) answer them, from /etc/passwd and /etc/group,
 * each file read once until clear(): the one lookup behind both the script-security stage
 * (config/script-host.ts, at load) and the script runner (io/script-runner.ts, at every run;
 * a reload clears it). A number that no entry names is taken as a uid (or gid), an lvsd
 * extension keepalived's getpwnam would refuse; a numeric user's primary group is that of the
 * passwd entry with this uid, or the same number when there is none.
 */
import { readFileSync } from 'node:fs';

/** Reads a whole text file, or throws (a file that cannot be read names nobody). */
export type ReadText = (file: string) => string;

const NUMERIC = /^\d+$/;

export class Accounts {
  private readonly read: ReadText;
  private passwd: Map<string, string[]> | null = null;
  private groups: Map<string, string[]> | null = null;
  constructor(read: ReadText = (f) => readFileSync(f, 'utf8')) {
    this.read = read;
  }

  /** uid and primary gid of a user name (or a numeric uid); null when unknown. */
  user(name: string): { uid: number; gid: number } | null {
    const pw = (this.passwd ??= this.table('/etc/passwd'));
    const f = pw.get(name);
    if (f) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
    }
    if (!NUMERIC.test(name)) return null;
    let gid = Number(name);
    for (const x of pw.values()) {
      if (x[2] === name) {
        gid = Number(x[3]);
        break;
      }
    }
    return Number.isInteger(gid) ? { uid: Number(name), gid } : null;
  }

  /** gid of a group name (or a numeric gid); null when unknown. */
  group(name: string): number | null {
    const f = (this.groups ??= this.table('/etc/group')).get(name);
    if (f) return Number.isInteger(Number(f[2])) ? Number(f[2]) : null;
    return NUMERIC.test(name) ? Number(name) : null;
  }

  /** A script user (`script_user USER [GROUP]`): the user's ids, the group's gid when one is named. */
  resolve(u: { readonly user: string; readonly group: string | null }): { uid: number; gid: number } | null {
    const ids = this.user(u.user);
    if (!ids || !u.group) return ids;
    const gid = this.group(u.group);
    return gid === null ? null : { uid: ids.uid, gid };
  }

  /** Forgets what was read (a config load: accounts may have changed). */
  clear(): void {
    this.passwd = null;
    this.groups = null;
  }

  private table(file: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    let text = '';
    try {
      text = this.read(file);
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && f[0] && !out.has(f[0])) out.set(f[0], f);
    }
    return out;
  }
}
