/**
 * `lvsd`: the daemon's entry point. keepalived's flags are accepted where they make sense
 * (`-f`, `-t`, `-l`, `-D`, `-n`), so a unit file or a habit carries over.
 */
import { parseArgs } from 'node:util';
import { formatConfigDiagnostic } from '../config/diagnostics.js';
import { exitCodeFor, loadConfigFile } from '../config/load.js';
import { runDaemon, lvsdVersion } from '../daemon/main.js';
import { DEFAULT_CONTROL_PATH } from '../control/client.js';

/** Default config file. */
export const DEFAULT_CONFIG = '/etc/lvsd/lvsd.conf';

const HELP = `usage: lvsd [options]

  -f, --use-file FILE     config file, keepalived.conf syntax or YAML (default ${DEFAULT_CONFIG})
  -i, --config-id ID      config id for keepalived's "@ID" conditional lines (default: short host name)
  -t, --test              check the config file, print every problem, exit (keepalived's -t exit codes)
      --dump-config       print the compiled config (how lvsd understood the file) as JSON, exit
      --control PATH      control socket (default ${DEFAULT_CONTROL_PATH})
      --log-format F      json (default) or pretty
      --log-level L       trace, debug, info (default), warn, error
  -p, --pid FILE          write the daemon's PID to FILE
  -v, --version           print the version
  -h, --help              this text
  -l, -D, -n              accepted for keepalived compatibility (lvsd logs to stdout and never forks)

signals: SIGHUP reloads the config (a bad file is rejected, the running config kept);
SIGTERM/SIGINT stop cleanly (priority-0 adverts, VIPs released).`;

/** Where the command line writes (the process's streams; tests capture them). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const STD_IO: CliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Runs the lvsd command line; resolves with the exit status. */
export async function lvsdMain(argv: string[], io: CliIo = STD_IO): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'use-file': { type: 'string', short: 'f' },
        'config-id': { type: 'string', short: 'i' },
        test: { type: 'boolean', short: 't' },
        'config-test': { type: 'boolean' },
        'dump-config': { type: 'boolean' },
        control: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        pid: { type: 'string', short: 'p' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
        'log-console': { type: 'boolean', short: 'l' },
        'log-detail': { type: 'boolean', short: 'D' },
        'dont-fork': { type: 'boolean', short: 'n' },
      },
    }));
  } catch (e) {
    io.err(`lvsd: ${(e as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    io.out(HELP + '\n');
    return 0;
  }
  if (values.version) {
    io.out(`lvsd ${lvsdVersion()}\n`);
    return 0;
  }
  const file = (values['use-file'] as string | undefined) ?? DEFAULT_CONFIG;
  const configId = values['config-id'] as string | undefined;
  const loadOpts = configId ? { configId } : {};
  const logFormat = (values['log-format'] as string | undefined) ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    io.err(`lvsd: --log-format must be json or pretty\n`);
    return 2;
  }
  const logLevel = (values['log-level'] as string | undefined) ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) {
    io.err(`lvsd: --log-level must be one of trace, debug, info, warn, error\n`);
    return 2;
  }

  if (values.test || values['config-test'] || values['dump-config']) {
    const r = loadConfigFile(file, loadOpts);
    const diags = r.ok ? r.warnings : r.diagnostics;
    for (const d of diags) io.err(formatConfigDiagnostic(d) + '\n');
    if (r.ok && values['dump-config']) io.out(JSON.stringify(r.model, null, 2) + '\n');
    if (r.ok && !values['dump-config']) io.err(`${file}: configuration OK (${r.files.length} file(s), ${r.warnings.length} warning(s))\n`);
    if (!r.ok) {
      const n = r.diagnostics.filter((d) => d.severity === 'error').length;
      io.err(`${file}: ${n} error(s), configuration rejected\n`);
    }
    return exitCodeFor(r);
  }

  return runDaemon({
    configFile: file,
    controlPath: (values.control as string | undefined) ?? null,
    logFormat,
    logLevel: logLevel as 'info',
    pidFile: (values.pid as string | undefined) ?? null,
    configId: configId ?? null,
  });
}
