// What `tsvmm` does once its flags are parsed: start the control loop,
// serve the API if asked, create and boot the command line's VM through
// the same queue the API uses, and decide when the process ends.
import type { Worker } from 'node:worker_threads';
import { createApiServer } from '../api/server.js';
import type { DbusApi } from '../dbus/service.js';
import { EventMonitorFile } from '../events/monitor-file.js';
import { eventRecord } from '../events/record.js';
import { listenApiSocket, type ApiSocket } from '../api/socket.js';
import { log } from '../util/log.js';
import { VmmError } from '../util/errors.js';
import { VmmHandle } from '../vmm/handle.js';
import type { VmInfoBody } from '../api/schema.js';
import type { VmConfigBody } from '../config/schema.js';
import type { VcpuExit } from '../vm/vcpu-control.js';
import type { CliCommand } from './args.js';
import { forwardStdin, type TerminalInput } from './terminal.js';

export const EXIT_OK = 0;
export const EXIT_VM_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_HOST = 3;

/** Exit status for an error reply: the client's fault (4xx) or the host's (5xx). */
export function exitCodeForStatus(status: number): number {
  return status < 500 ? EXIT_USAGE : EXIT_HOST;
}

/** The control loop has logged a failure's report already. */
function exitCodeForVm(exit: VcpuExit): number {
  return exit.kind === 'failure' ? EXIT_VM_FAILED : EXIT_OK;
}

/** The APIs a run serves; filled as each starts, so a failure halfway still closes what started. */
interface Frontends {
  socket?: ApiSocket;
  dbus?: DbusApi;
}

/** Serves the REST API and/or D-Bus as asked; `onBusLost` is told if the bus goes away later. */
async function startFrontends(command: CliCommand, vmm: VmmHandle, frontends: Frontends, onBusLost: () => void): Promise<void> {
  if (command.apiSocket) {
    frontends.socket = await listenApiSocket(createApiServer(vmm), command.apiSocket);
    log.info(`API listening on ${frontends.socket.description}`);
  }
  if (command.dbus) {
    // Loaded only when asked for: most runs have no D-Bus.
    const { serveDbusApi } = await import('../dbus/service.js');
    frontends.dbus = await serveDbusApi(vmm, command.dbus, (error) => {
      log.error(`D-Bus: the bus connection was lost${error ? ` (${error.message})` : ''}`);
      onBusLost();
    });
    log.info(`D-Bus API served as ${frontends.dbus.description}`);
  }
}

/** Resolves with the process exit status; `controlLoop` is a worker bin/tsvmm.ts started early. */
export async function runVmm(command: CliCommand, controlLoop?: Worker): Promise<number> {
  const monitor = command.eventMonitor ? EventMonitorFile.open(command.eventMonitor) : undefined;
  const vmm = new VmmHandle(controlLoop);
  if (monitor) vmm.events.subscribe({ event: (record) => monitor.write(record), end: () => monitor.close() });
  vmm.events.publish(eventRecord('vmm', 'starting'));
  const frontends: Frontends = {};
  let input: TerminalInput | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => { finish = resolve; });

  const served = command.apiSocket !== undefined || command.dbus !== undefined;
  vmm.onEvent((event) => {
    if (event.type === 'vmm-shutdown') finish(EXIT_OK);
    else if (!served && !(command.noShutdown && event.exit.kind !== 'failure')) finish(exitCodeForVm(event.exit));
  });
  const stop = (signal: NodeJS.Signals): void => {
    log.info(`${signal}: shutting down`);
    vmm.request('vmm.shutdown').catch(() => finish(EXIT_OK));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    // Without the REST API, a VMM whose bus is gone could not be controlled any more.
    await startFrontends(command, vmm, frontends, () => { if (!command.apiSocket) finish(EXIT_HOST); });
    if (command.config) {
      await vmm.request('vm.create', command.config);
      if (usesTerminal(command.config)) input = forwardStdin((bytes) => vmm.terminalInput(bytes));
      await vmm.request('vm.boot');
    }
    if (command.restore) {
      await vmm.request('vm.restore', command.restore);
      if (usesTerminal(((await vmm.request('vm.info')) as VmInfoBody).config)) input = forwardStdin((bytes) => vmm.terminalInput(bytes));
    }
  } catch (error) {
    if (!(error instanceof VmmError)) throw error;
    process.stderr.write(`tsvmm: ${error.message}\n`);
    finish(exitCodeForStatus(error.status));
  }

  const code = await finished;
  input?.close();
  vmm.events.end();
  await frontends.socket?.close();
  await frontends.dbus?.close();
  await vmm.request('vmm.shutdown').catch(() => undefined);
  await vmm.close();
  return code;
}

/** Whether the serial port or the console is tsvmm's own terminal, whose input must then be forwarded. */
function usesTerminal(config: VmConfigBody): boolean {
  return config.serial?.mode === 'Tty' || config.console?.mode === 'Tty';
}
