// What each tsvmm-remote command does with the client, and its exit status.
import { readFileSync } from 'node:fs';
import {
  ApiError, TsvmmClient, VmmUnreachableError, type VmConfig, type VmmClient, type VmReceiveMigrationConfig, type VmSendMigrationConfig,
} from '../api/client.js';
import { ConfigError } from '../util/errors.js';
import {
  parseDisk, parseNet, parseReceiveMigration, parseRestore, parseSendMigration, parseVsock,
} from '../config/options.js';
import { withProgress } from './progress.js';
import type { CommandName, RemoteCommand } from './args.js';
import { attachConsole, consoleAddress } from './console-client.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function readConfig(file: string | undefined): VmConfig {
  const text = readFileSync(file === undefined || file === '-' ? 0 : file, 'utf8');
  try {
    return JSON.parse(text) as VmConfig;
  } catch (error) {
    throw new ConfigError(`create: ${file ?? 'stdin'} is not JSON: ${(error as Error).message}`);
  }
}

/** The commands that are one request without a reply body. */
const SIMPLE: Partial<Record<CommandName, (client: VmmClient) => Promise<void>>> = {
  boot: (c) => c.boot(),
  pause: (c) => c.pause(),
  resume: (c) => c.resume(),
  reboot: (c) => c.reboot(),
  shutdown: (c) => c.shutdown(),
  delete: (c) => c.delete(),
  'power-button': (c) => c.powerButton(),
  nmi: (c) => c.nmi(),
  'shutdown-vmm': (c) => c.shutdownVmm(),
};

async function followEvents(client: VmmClient, command: RemoteCommand): Promise<number> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = command.timeoutSeconds === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, command.timeoutSeconds * 1000);
  try {
    for await (const record of client.events(abort.signal)) {
      process.stdout.write(`${JSON.stringify(record)}\n`);
      if (command.until === `${record.source}:${record.event}`) return EXIT_OK;
    }
    if (command.until === undefined && !timedOut) return EXIT_OK;
    if (command.until !== undefined) {
      const why = timedOut ? `within ${command.timeoutSeconds} s` : 'before the VMM ended the stream';
      process.stderr.write(`tsvmm-remote: no ${command.until} event ${why}\n`);
    }
    return EXIT_REFUSED;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The REST client, or the D-Bus one (loaded only then). */
async function clientFor(command: RemoteCommand): Promise<VmmClient> {
  if (!command.dbus) return new TsvmmClient(command.socket ?? '');
  const { DbusVmmClient } = await import('../dbus/client.js');
  return DbusVmmClient.connect(command.dbus);
}

/** What the command line names as the VMM's address, for messages. */
export function targetOf(command: RemoteCommand): string {
  return command.dbus ? `${command.dbus.serviceName} ${command.dbus.objectPath}` : command.socket ?? '';
}

export async function runRemoteCommand(command: RemoteCommand): Promise<number> {
  const client = await clientFor(command);
  try {
    const simple = SIMPLE[command.command];
    if (simple) {
      await simple(client);
      return EXIT_OK;
    }
    switch (command.command) {
      case 'ping': printJson(await client.ping()); return EXIT_OK;
      case 'info': printJson(await client.info()); return EXIT_OK;
      case 'counters': printJson(await client.counters()); return EXIT_OK;
      case 'create': await client.create(readConfig(command.args[0])); return EXIT_OK;
      case 'add-disk': await client.addDisk(parseDisk(command.args[0] ?? '')); return EXIT_OK;
      case 'add-net': await client.addNet(parseNet(command.args[0] ?? '')); return EXIT_OK;
      case 'add-vsock': await client.addVsock(parseVsock(command.args[0] ?? '')); return EXIT_OK;
      case 'snapshot': await withProgress(client, 'snapshotting', () => client.snapshot({ destination_url: command.args[0] ?? '' })); return EXIT_OK;
      case 'restore': await withProgress(client, 'restoring', () => client.restore(parseRestore(command.args[0] ?? ''))); return EXIT_OK;
      case 'send-migration': {
        const body = parseSendMigration(command.args[0] ?? '') as VmSendMigrationConfig;
        await withProgress(client, 'migrating', () => client.sendMigration(body), { done: 'migration-finished', failed: 'migration-failed' });
        return EXIT_OK;
      }
      case 'receive-migration': {
        const body = parseReceiveMigration(command.args[0] ?? '') as VmReceiveMigrationConfig;
        await withProgress(client, 'migration-receiving', () => client.receiveMigration(body));
        return EXIT_OK;
      }
      case 'events': return await followEvents(client, command);
      case 'console': {
        const { config } = await client.info();
        return await attachConsole(consoleAddress(config.serial ?? { mode: 'Off' }), command);
      }
      default: throw new ConfigError(`unknown command ${command.command}`);
    }
  } finally {
    await client.close();
  }
}

/** The exit status for an error, and the message to print. */
export function describeFailure(error: unknown, socket: string): { code: number; message: string } {
  if (error instanceof ApiError) return { code: EXIT_REFUSED, message: error.message };
  if (error instanceof VmmUnreachableError) return { code: EXIT_UNREACHABLE, message: error.message };
  if (error instanceof ConfigError) return { code: EXIT_USAGE, message: error.message };
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return { code: EXIT_UNREACHABLE, message: `no tsvmm answers on ${socket} (${code})` };
  return { code: EXIT_REFUSED, message: error instanceof Error ? error.message : String(error) };
}
