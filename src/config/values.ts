/**
 * Parsers for the words of one keyword line. Each takes a {@link Words} (the arguments, or
 * for a value-block line all its words) and returns the typed value, or undefined after
 * recording an issue against the argument at fault (so its file:line:col is reported).
 * Several issues may be recorded for one line; nothing throws.
 *
 * Number syntax follows keepalived's read_int/read_unsigned/read_timer (lib/parser.c):
 * decimal integers; timers are seconds with an optional fraction (`0.5`, `3`).
 */
import { splitCommandLine } from '../lib/argv.js';
import { canonicalIp, ipFamily, maskToPrefix4, parseIPv4, type Family } from '../lib/ip.js';
import type { ScriptCommand, ScriptUser } from '../model/types.js';
import type { VHostPort, VScript, VWeight } from '../model/validated.js';

/** A problem with one argument (null: with the line as a whole). */
export interface Issue {
  readonly arg: number | null;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** Diagnostic code; default ERR_CONFIG_VALUE / WARN_CONFIG_UNSUPPORTED. */
  readonly code?: string;
}

/** The words under parse and the issues found so far. */
export class Words {
  readonly words: readonly string[];
  /** How to name the keyword in messages, e.g. "`priority`". */
  readonly what: string;
  readonly issues: Issue[] = [];

  constructor(words: readonly string[], what: string) {
    this.words = words;
    this.what = what;
  }

  get length(): number {
    return this.words.length;
  }

  at(i: number): string | undefined {
    return this.words[i];
  }

  err(arg: number | null, message: string, code?: string): undefined {
    this.issues.push({ arg, message, severity: 'error', code });
    return undefined;
  }

  warn(arg: number | null, message: string, code?: string): void {
    this.issues.push({ arg, message, severity: 'warning', code });
  }

  get failed(): boolean {
    return this.issues.some((i) => i.severity === 'error');
  }

  /** Checks the argument count; reports missing or extra arguments. */
  count(min: number, max: number, usage: string): boolean {
    if (this.words.length < min) {
      this.err(null, `${this.what} needs ${usage}`);
      return false;
    }
    if (this.words.length > max) {
      this.err(max, `unexpected \`${this.words[max]}\` after ${this.what} (syntax: ${usage})`);
      return false;
    }
    return true;
  }
}

const INT = /^[+-]?\d+$/;
const DEC = /^(\d+\.?\d*|\.\d+)$/;

/** A decimal integer in [min, max]. */
export function int(w: Words, i: number, min: number, max: number, name = w.what): number | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${name} needs a value (an integer from ${min} to ${max})`);
  if (!INT.test(s)) return w.err(i, `${name} must be an integer from ${min} to ${max}, not \`${s}\``);
  const n = Number(s);
  if (n < min || n > max) return w.err(i, `${name} must be from ${min} to ${max}, not ${s}`);
  return n;
}

/** A timer in seconds (fractions allowed) in [minS, maxS], returned in milliseconds. */
export function timerMs(w: Words, i: number, minS: number, maxS: number, name = w.what): number | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${name} needs a time in seconds`);
  if (!DEC.test(s)) return w.err(i, `${name} must be a time in seconds (e.g. 3 or 0.5), not \`${s}\``);
  const v = Number(s);
  if (v < minS || v > maxS) return w.err(i, `${name} must be from ${minS} to ${maxS} seconds, not ${s}`);
  return Math.round(v * 1e6) / 1e3;
}

const TRUE_WORDS = ['on', 'true', 'yes'];
const FALSE_WORDS = ['off', 'false', 'no'];

/** keepalived's `<BOOL>`: on|off|true|false|yes|no. */
export function bool(w: Words, i: number): boolean | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${w.what} needs on|off|true|false|yes|no`);
  const l = s.toLowerCase();
  if (TRUE_WORDS.includes(l)) return true;
  if (FALSE_WORDS.includes(l)) return false;
  return w.err(i, `${w.what} takes on|off|true|false|yes|no, not \`${s}\``);
}

/** A flag keyword: bare (`nopreempt`) means on; `nopreempt off` (and YAML `false`) means off. */
export function flag(w: Words): boolean | undefined {
  if (w.length === 0) return true;
  if (!w.count(0, 1, '[on|off]')) return undefined;
  return bool(w, 0);
}

/** Exactly one word. */
export function word(w: Words, usage = 'a value'): string | undefined {
  if (!w.count(1, 1, usage)) return undefined;
  return w.at(0)!;
}

/** One of a fixed set of words (case-insensitive when asked; returns the canonical spelling). */
export function oneOf<T extends string>(w: Words, i: number, values: readonly T[], caseInsensitive = false): T | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${w.what} needs one of ${values.join('|')}`);
  const hit = values.find((v) => (caseInsensitive ? v.toLowerCase() === s.toLowerCase() : v === s));
  if (hit === undefined) return w.err(i, `${w.what} must be one of ${values.join('|')}, not \`${s}\``);
  return hit;
}

/** An IP address (canonical text and family); `family` restricts it. */
export function ip(w: Words, i: number, family?: Family, name = 'address'): { address: string; family: Family } | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${w.what} needs an ${family === 'ipv6' ? 'IPv6 ' : family === 'ipv4' ? 'IPv4 ' : 'IP '}${name}`);
  const fam = ipFamily(s);
  if (!fam) return w.err(i, `\`${s}\` is not a valid IP ${name}`);
  if (family && fam !== family) return w.err(i, `\`${s}\` is ${fam === 'ipv4' ? 'IPv4' : 'IPv6'}; an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} ${name} is needed here`);
  return { address: canonicalIp(s)!, family: fam };
}

/** `ADDRESS[/PREFIX]`; prefixLen null when no prefix was written. */
export function ipPrefix(w: Words, i: number): { address: string; family: Family; prefixLen: number | null } | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${w.what} needs an address`);
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash);
  const fam = ipFamily(a);
  if (!fam) return w.err(i, `\`${a}\` is not a valid IP address`);
  let prefixLen: number | null = null;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    const max = fam === 'ipv4' ? 32 : 128;
    if (/^\d+$/.test(p)) {
      prefixLen = Number(p);
      if (prefixLen > max) return w.err(i, `prefix length /${p} is out of range for ${fam === 'ipv4' ? 'IPv4 (0-32)' : 'IPv6 (0-128)'}`);
    } else if (fam === 'ipv4' && parseIPv4(p) !== null) {
      const m = maskToPrefix4(parseIPv4(p)!);
      if (m === null) return w.err(i, `netmask ${p} is not contiguous`);
      prefixLen = m;
    } else {
      return w.err(i, `\`${p}\` is not a prefix length`);
    }
  }
  return { address: canonicalIp(a)!, family: fam, prefixLen };
}

/** A port 1..65535 (or 0..65535 with allowZero). */
export function port(w: Words, i: number, allowZero = false, name = 'port'): number | undefined {
  return int(w, i, allowZero ? 0 : 1, 65535, name);
}

/** An interface name (Linux IFNAMSIZ: at most 15 characters, no `/` or blanks). */
export function ifname(w: Words, i: number): string | undefined {
  const s = w.at(i);
  if (s === undefined) return w.err(null, `${w.what} needs an interface name`);
  if (s.length === 0 || s.length > 15 || /[\s/]/.test(s) || s === '.' || s === '..') {
    return w.err(i, `\`${s}\` is not a valid interface name (1-15 characters, no \`/\` or blanks)`);
  }
  return s;
}

/** `IP [PORT]` of a real server, sorry server or `smtp_server`. */
export function hostPort(w: Words, start: number, allowZeroPort: boolean): VHostPort | undefined {
  const a = ip(w, start);
  if (!a) return undefined;
  let p: number | null = null;
  if (w.length > start + 1) {
    const v = port(w, start + 1, allowZeroPort);
    if (v === undefined) return undefined;
    p = v;
  }
  return { address: a.address, family: a.family, port: p };
}

/** `USER [GROUP]` starting at word i. */
export function scriptUser(w: Words, i: number): ScriptUser | undefined {
  const user = w.at(i);
  if (user === undefined) return w.err(null, `${w.what} needs a user name`);
  const valid = (s: string) => /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(s) && s.length <= 32;
  if (!valid(user)) return w.err(i, `\`${user}\` is not a valid user name`);
  const group = w.at(i + 1) ?? null;
  if (group !== null && !valid(group)) return w.err(i + 1, `\`${group}\` is not a valid group name`);
  return { user, group };
}

/** A script command line as keepalived splits it. */
export function command(line: string): ScriptCommand {
  return { line, argv: splitCommandLine(line) };
}

/**
 * A script keyword: `SCRIPT [USER [GROUP]]` where SCRIPT is one word (quote it to pass
 * arguments: `notify_master "/etc/keepalived/notify.sh master"`), as keepalived reads it.
 */
export function script(w: Words): VScript | undefined {
  if (!w.count(1, 3, 'SCRIPT [USER [GROUP]] (quote SCRIPT when it has arguments)')) return undefined;
  const line = w.at(0)!;
  const cmd = command(line);
  if (cmd.argv.length === 0) return w.err(0, `${w.what} needs a command`);
  let user: ScriptUser | null = null;
  if (w.length > 1) {
    const u = scriptUser(w, 1);
    if (!u) return undefined;
    user = u;
  }
  return { command: cmd, user };
}

/** `weight N [reverse|noreverse]` from word i on; returns nulls for parts not given. */
export function weightClause(w: Words, i: number, min: number, max: number): VWeight | undefined {
  if (w.length <= i) return { weight: null, reverse: null };
  if (w.at(i) !== 'weight') {
    return w.err(i, `unexpected \`${w.at(i)}\`; expected \`weight N [reverse|noreverse]\``);
  }
  if (w.at(i + 1) === undefined) return w.err(i, '`weight` needs a number');
  const n = int(w, i + 1, min, max, '`weight`');
  if (n === undefined) return undefined;
  let reverse: boolean | null = null;
  const r = w.at(i + 2);
  if (r !== undefined) {
    if (r === 'reverse') reverse = true;
    else if (r === 'noreverse' || r === 'no_reverse') reverse = false;
    else return w.err(i + 2, `expected reverse|noreverse after the weight, not \`${r}\``);
  }
  if (w.length > i + 3) return w.err(i + 3, `unexpected \`${w.at(i + 3)}\` after the weight`);
  return { weight: n, reverse };
}

/** Any words at all (unsupported keywords keep whatever was written). */
export function anything(w: Words): readonly string[] {
  return w.words;
}
