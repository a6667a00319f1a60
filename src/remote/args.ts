// tsvmm-remote's command line: the socket, one command and its arguments.
import { parseArgs } from 'node:util';
import type { DbusTarget } from '../dbus/client.js';
import { checkObjectPath, checkServiceName } from '../dbus/names.js';
import { ConfigError } from '../util/errors.js';

export const COMMANDS = [
  'ping', 'info', 'counters', 'create', 'boot', 'pause', 'resume', 'reboot', 'shutdown', 'delete', 'power-button', 'nmi',
  'add-disk', 'add-net', 'add-vsock', 'snapshot', 'restore', 'send-migration', 'receive-migration', 'shutdown-vmm', 'events', 'console',
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** ch-remote's (v53.0) commands for features tsvmm does not have: refused by name. */
const CH_REMOTE_ONLY: ReadonlySet<string> = new Set([
  'add-device', 'add-fs', 'add-pmem', 'add-user-device', 'add-vdpa', 'coredump',
  'remove-device', 'resize', 'resize-disk', 'resize-zone',
]);

export interface RemoteCommand {
  kind: 'command';
  /** The REST API's socket, or */
  socket?: string;
  /** the D-Bus API (ch-remote's --dbus-service-name, --dbus-object-path, --dbus-system-bus). */
  dbus?: DbusTarget;
  command: CommandName;
  /** Positional arguments after the command. */
  args: string[];
  until?: string;
  send?: string;
  timeoutSeconds?: number;
}

export type RemoteRequest = RemoteCommand | { kind: 'help' } | { kind: 'version' };

const OPTIONS = {
  'api-socket': { type: 'string' },
  'dbus-service-name': { type: 'string' },
  'dbus-object-path': { type: 'string' },
  'dbus-system-bus': { type: 'boolean' },
  until: { type: 'string' },
  send: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Where the VMM is: --api-socket, or the D-Bus names (both, as ch-remote wants them), not both ways at once. */
function target(values: { 'api-socket'?: string; 'dbus-service-name'?: string; 'dbus-object-path'?: string; 'dbus-system-bus'?: boolean }):
{ socket: string } | { dbus: DbusTarget } {
  const { 'api-socket': socketText, 'dbus-service-name': serviceName, 'dbus-object-path': objectPath } = values;
  if (serviceName !== undefined || objectPath !== undefined) {
    if (socketText !== undefined) throw new ConfigError('give --api-socket or the --dbus-* options, not both');
    if (serviceName === undefined || objectPath === undefined) throw new ConfigError('--dbus-service-name and --dbus-object-path go together');
    return { dbus: { serviceName: checkServiceName(serviceName), objectPath: checkObjectPath(objectPath), systemBus: values['dbus-system-bus'] === true } };
  }
  if (!socketText) throw new ConfigError('--api-socket PATH is required, or --dbus-service-name NAME with --dbus-object-path PATH (see --help)');
  return { socket: socketText.startsWith('path=') ? socketText.slice('path='.length) : socketText };
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/** "\n" and "\r" typed as two characters become the control characters. */
function unescape(text: string): string {
  return text.replace(/\\([nr\\])/g, (_, c: string) => ({ n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
}

export function parseRemoteCommandLine(argv: string[]): RemoteRequest {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [command, ...args] = positionals;
  if (command === undefined) throw new ConfigError('no command given (see --help)');
  if (CH_REMOTE_ONLY.has(command)) throw new ConfigError(`${command} is not supported by tsvmm (a ch-remote command for a feature tsvmm lacks)`);
  if (!isCommand(command)) throw new ConfigError(`unknown command "${command}" (see --help)`);
  const result: RemoteCommand = { kind: 'command', ...target(values), command, args };
  if (values.until !== undefined) result.until = values.until;
  if (values.send !== undefined) result.send = unescape(values.send);
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`--timeout: "${values.timeout}" is not a number of seconds`);
    result.timeoutSeconds = seconds;
  }
  checkArguments(result);
  return result;
}

const ARGUMENT_COUNT: Partial<Record<CommandName, [number, number, string]>> = {
  create: [0, 1, 'create takes at most one FILE (or - for stdin)'],
  'add-disk': [1, 1, 'add-disk takes one option string, e.g. path=/images/data.raw'],
  'add-net': [1, 1, 'add-net takes one option string, e.g. remote=192.0.2.1:4000'],
  'add-vsock': [1, 1, 'add-vsock takes one option string, e.g. cid=3,socket=/run/vm.vsock'],
  snapshot: [1, 1, 'snapshot takes one destination URL, e.g. file:///var/lib/vm/snap'],
  restore: [1, 1, 'restore takes one option string, e.g. source_url=file:///var/lib/vm/snap'],
  'send-migration': [1, 1, 'send-migration takes one option string, e.g. destination_url=unix:/run/vm-migration.sock'],
  'receive-migration': [1, 1, 'receive-migration takes one option string, e.g. receiver_url=unix:/run/vm-migration.sock'],
  console: [0, 1, 'console takes at most one console name: serial'],
};

function checkArguments(command: RemoteCommand): void {
  const [min, max, message] = ARGUMENT_COUNT[command.command] ?? [0, 0, `${command.command} takes no arguments`];
  if (command.args.length < min || command.args.length > max) throw new ConfigError(message);
  if (command.command === 'console' && command.args[0] !== undefined && command.args[0] !== 'serial') {
    throw new ConfigError(`console: "${command.args[0]}" is not a console tsvmm has; use serial`);
  }
  if ((command.until !== undefined || command.timeoutSeconds !== undefined) && !['events', 'console'].includes(command.command)) {
    throw new ConfigError('--until and --timeout are for events and console');
  }
  if (command.send !== undefined && command.command !== 'console') throw new ConfigError('--send is for console');
  if (command.command === 'events' && command.until !== undefined && !/^[a-z-]+:[a-z-]+$/.test(command.until)) {
    throw new ConfigError(`events --until: "${command.until}" is not SOURCE:EVENT, e.g. vm:booted`);
  }
}
