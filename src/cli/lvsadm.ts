/**
 * lvsadm: a thin client of the daemon's control socket. Each subcommand is one control
 * command; the text layout comes from src/cli/format/*, `--json` prints the raw result.
 * ipvsadm's listing options are accepted as ipvsadm spells them (`-L -n --stats`, `-c`, ...).
 */
import { ControlClient, ControlCommandError, DEFAULT_CONTROL_PATH } from '../control/client.js';
import { LvsdError } from '../lib/errors.js';
import { formatConfig, formatReload, formatStatus } from './format/status.js';
import { lvsadmFormatters } from './format/index.js';

const USAGE = `usage: lvsadm [--control PATH] [--json] COMMAND [ARGS]

commands:
  status                         daemon status
  reload                         reload the config file (a bad file is rejected, the running config kept)
  config                         the running config as lvsd understood it (--json: the whole compiled model)
  vrrp [INSTANCE]                VRRP instances (or one): state, priorities, master, VIPs, counters
  checks [SERVICE]               real servers' health: state, last result, reason, latency
                                 (SERVICE: a virtual service key, e.g. tcp:198.18.0.10:80, fwmark:7)
  -L|-l|--list [-n] [--stats|--rate|--thresholds|--persistent-conn|--timeout|-c|--connection] [--exact]
                                 virtual services, as ipvsadm lists them
  -Z|--zero                      zero the packet/byte counters
  trace tcp|udp CIP:PORT VIP:PORT
                                 which real server a new flow would get, and why (sends nothing)
  sync                           connection sync with the peer director: role, counters, drops
  watch                          stream the daemon's events (Ctrl-C to stop)
  help                           this text

options:
  --control PATH   control socket (default ${DEFAULT_CONTROL_PATH}, or $LVSD_CONTROL)
  --json           print the daemon's answer as JSON

exit status: 0 ok, 1 the daemon answered with an error, 2 bad usage, 3 cannot reach the daemon;
with --json an error is printed as {"error": {"code", "message"}} on stdout`;

/** A parsed lvsadm invocation. */
export interface Invocation {
  control: string;
  json: boolean;
  cmd: string;
  args: Record<string, unknown>;
  /** Which formatter prints the result. */
  view: string;
}

/** Usage error (exit 2). */
export class UsageError extends LvsdError {
  constructor(message: string) {
    super('ERR_LVSADM_USAGE', message);
  }
}

/**
 * A virtual service key as the `checks` control command takes it (the `service` field of
 * `lvsadm checks --json`): `tcp:198.18.0.10:80`, `udp:[2001:db8::1]:53`, `fwmark:7`,
 * `group:tcp:NAME` (src/model/compile.ts builds them).
 */
const SERVICE_KEY = /^(?:(?:tcp|udp):(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}|fwmark:\d+|group:(?:tcp|udp):\S+)$/;

/** Parses argv (without node and script) into an invocation. */
export function parseLvsadmArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Invocation {
  let control = env.LVSD_CONTROL || DEFAULT_CONTROL_PATH;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--control') {
      const v = argv[++i];
      if (!v) throw new UsageError('--control needs a path');
      control = v;
    } else if (a.startsWith('--control=')) control = a.slice('--control='.length);
    else if (a === '--json') json = true;
    else rest.push(a);
  }
  const combined = (a: string, ch: string) => /^-[a-zA-Z]{2,}$/.test(a) && a.includes(ch);
  const listing = rest.some((a) => ['-L', '-l', '--list'].includes(a) || combined(a, 'L') || combined(a, 'l'));
  const zero = rest.some((a) => ['-Z', '--zero'].includes(a) || combined(a, 'Z'));
  if (listing || zero || (rest[0] && ['-c', '--connection', '--stats', '--rate', '--thresholds', '--persistent-conn', '--timeout', '-n', '--numeric'].includes(rest[0]))) {
    const flags = { numeric: false, stats: false, rate: false, thresholds: false, persistentConn: false, timeout: false, connections: false, exact: false };
    for (const a of rest) {
      if (['-L', '-l', '--list', '-Z', '--zero'].includes(a)) continue;
      else if (a === '-n' || a === '--numeric') flags.numeric = true;
      else if (a === '--stats') flags.stats = true;
      else if (a === '--rate') flags.rate = true;
      else if (a === '--thresholds') flags.thresholds = true;
      else if (a === '--persistent-conn') flags.persistentConn = true;
      else if (a === '--timeout') flags.timeout = true;
      else if (a === '-c' || a === '--connection') flags.connections = true;
      else if (a === '--exact' || a === '-x') flags.exact = true;
      else if (/^-[a-zA-Z]{2,}$/.test(a)) {
        // combined short flags, as ipvsadm users type them: -Ln, -lnc
        for (const ch of a.slice(1)) {
          if (ch === 'L' || ch === 'l') continue;
          else if (ch === 'n') flags.numeric = true;
          else if (ch === 'c') flags.connections = true;
          else if (ch === 'Z') continue;
          else throw new UsageError(`unknown listing option -${ch}`);
        }
      } else throw new UsageError(`unknown listing option ${a}`);
    }
    // ipvsadm's list formats exclude each other (FMT_STATS, FMT_RATE, FMT_THRESHOLDS, FMT_PERSISTENTCONN).
    const formats = (['stats', 'rate', 'thresholds', 'persistentConn'] as const).filter((k) => flags[k]);
    if (formats.length > 1) throw new UsageError(`choose one of --stats, --rate, --thresholds, --persistent-conn (got ${formats.map((f) => (f === 'persistentConn' ? '--persistent-conn' : `--${f}`)).join(' ')})`);
    if (zero && !listing) return { control, json, cmd: 'lvs', args: { action: 'zero' }, view: 'zero' };
    const view = flags.connections ? 'connections' : flags.timeout ? 'timeout' : 'list';
    return { control, json, cmd: 'lvs', args: { action: flags.connections ? 'connections' : flags.timeout ? 'timeout' : 'list', zero, ...flags }, view };
  }
  const [cmd, ...args] = rest;
  switch (cmd) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return { control, json, cmd: 'help', args: {}, view: 'help' };
    case 'vrrp':
      // `lvsadm vrrp [INSTANCE]`: the daemon answers ERR_VRRP_NO_INSTANCE for a name it does not run
      if (args.length > 1) throw new UsageError('usage: lvsadm vrrp [INSTANCE]');
      return { control, json, cmd, args: args.length ? { instance: args[0] } : {}, view: cmd };
    case 'sync':
    case 'status':
    case 'reload':
    case 'config':
    case 'watch':
      if (args.length) throw new UsageError(`${cmd} takes no arguments`);
      return { control, json, cmd, args: {}, view: cmd };
    case 'checks': {
      // as the control command: every service, or the one given
      if (args.length > 1) throw new UsageError('usage: lvsadm checks [SERVICE]');
      const service = args[0];
      if (service === undefined) return { control, json, cmd, args: {}, view: cmd };
      if (!SERVICE_KEY.test(service)) {
        throw new UsageError(`"${service}" is not a virtual service key (tcp|udp:IP:PORT, tcp|udp:[IPv6]:PORT, fwmark:MARK or group:tcp|udp:NAME, as lvsadm checks lists them)`);
      }
      return { control, json, cmd, args: { service }, view: cmd };
    }
    case 'trace': {
      const [proto, client, vip] = args;
      if (args.length !== 3 || (proto !== 'tcp' && proto !== 'udp')) throw new UsageError('usage: lvsadm trace tcp|udp CIP:PORT VIP:PORT');
      return { control, json, cmd: 'trace', args: { proto, client, vip }, view: 'trace' };
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see lvsadm help)`);
  }
}

/** Runs lvsadm; returns the exit status. Output goes through the given writers. */
export async function lvsadmMain(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => process.stderr.write(s + '\n'),
): Promise<number> {
  let inv: Invocation;
  // With --json every outcome is JSON on stdout, errors included (scripts parse one stream).
  const failWith = (json: boolean, status: number, code: string, message: string, cmd?: string): number => {
    if (json) out(JSON.stringify({ error: { code, message } }, null, 2));
    else err(`lvsadm: ${cmd ? `${cmd}: ${code}: ` : ''}${message}`);
    return status;
  };
  try {
    inv = parseLvsadmArgs(argv);
  } catch (e) {
    return failWith(argv.includes('--json'), 2, (e as LvsdError).code ?? 'ERR_LVSADM_USAGE', (e as Error).message);
  }
  if (inv.cmd === 'help') {
    out(USAGE);
    return 0;
  }
  let client: ControlClient;
  try {
    client = await ControlClient.connect(inv.control);
  } catch (e) {
    return failWith(inv.json, 3, (e as LvsdError).code ?? 'ERR_CONTROL_CONNECT', (e as Error).message);
  }
  try {
    if (inv.cmd === 'watch') {
      await client.watch((ev) => out(inv.json ? JSON.stringify(ev) : formatEventLine(ev)));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return 0;
    }
    if (inv.view === 'config' && !inv.json) {
      const status = await client.request('status');
      out(formatConfig(status, await client.request('config')));
      return 0;
    }
    const result = await client.request(inv.cmd, inv.args);
    if (inv.json) out(JSON.stringify(result, null, 2));
    else out(render(inv, result));
    return 0;
  } catch (e) {
    if (e instanceof ControlCommandError) return failWith(inv.json, 1, e.code, e.message, inv.cmd);
    return failWith(inv.json, 3, (e as LvsdError).code ?? 'ERR_CONTROL_CLOSED', (e as Error).message);
  } finally {
    client.close();
  }
}

function render(inv: Invocation, result: unknown): string {
  if (inv.view === 'status') return formatStatus(result);
  if (inv.view === 'reload') return formatReload(result);
  const f = lvsadmFormatters[inv.view];
  return f ? f(result, inv.args) : JSON.stringify(result, null, 2);
}

/** One watched event as a line: time, event, then key=value fields. */
export function formatEventLine(ev: Record<string, unknown>): string {
  const { event, ...fields } = ev;
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${new Date().toISOString()} ${String(event)} ${kv}`;
}

export { USAGE as LVSADM_USAGE };
