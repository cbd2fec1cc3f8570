import { LvsdError } from '../lib/errors.js';

/** An error a control command returns to its client: `{ok:false, error:{code, message}}`. */
export class ControlError extends LvsdError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'ControlError';
  }
}

/** Arguments of a control request: a JSON object. */
export type CommandArgs = Readonly<Record<string, unknown>>;

/** One control command. */
export interface CommandSpec {
  /** One line for `lvsadm help`. */
  readonly describe: string;
  /**
   * Runs the command. Throw ControlError (e.g. ERR_CONTROL_BAD_ARGS) for a client mistake;
   * anything else thrown is reported as ERR_CONTROL_INTERNAL. The result must be JSON-serialisable.
   */
  readonly handler: (args: CommandArgs) => unknown | Promise<unknown>;
}

/** Commands registered by name (ARCHITECTURE: registries of small modules). */
export class CommandRegistry {
  private readonly commands = new Map<string, CommandSpec>();

  /** Registers cmd; registering a name twice is a programming error. */
  register(name: string, spec: CommandSpec): void {
    if (this.commands.has(name)) throw new LvsdError('ERR_CONTROL_DUPLICATE', `control command ${name} registered twice`);
    this.commands.set(name, spec);
  }

  /** Removes cmd (a subsystem that stops unregisters its commands). */
  unregister(name: string): void {
    this.commands.delete(name);
  }

  get(name: string): CommandSpec | undefined {
    return this.commands.get(name);
  }

  /** Names and descriptions, sorted. */
  list(): Array<{ name: string; describe: string }> {
    return [...this.commands].map(([name, s]) => ({ name, describe: s.describe })).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Reads an optional string argument or throws ERR_CONTROL_BAD_ARGS. */
export function argString(args: CommandArgs, name: string, required = false): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) {
    if (required) throw new ControlError('ERR_CONTROL_BAD_ARGS', `missing argument "${name}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ControlError('ERR_CONTROL_BAD_ARGS', `argument "${name}" must be a string`);
  return v;
}

/** Reads an optional boolean argument or throws ERR_CONTROL_BAD_ARGS. */
export function argBool(args: CommandArgs, name: string): boolean {
  const v = args[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ControlError('ERR_CONTROL_BAD_ARGS', `argument "${name}" must be true or false`);
  return v;
}
