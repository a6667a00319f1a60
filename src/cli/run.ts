// What `tsvmm` does once its flags are parsed: start the control loop,
// serve the API if asked, create and boot the command line's VM through
// the same queue the API uses, and decide when the process ends.
import { createApiServer } from '../api/server.js';
import { EventMonitorFile } from '../events/monitor-file.js';
import { eventRecord } from '../events/record.js';
import { listenApiSocket, type ApiSocket } from '../api/socket.js';
import { log } from '../util/log.js';
import { VmmHandle, VmmRequestError } from '../vmm/handle.js';
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

/** Resolves with the process exit status. */
export async function runVmm(command: CliCommand): Promise<number> {
  const monitor = command.eventMonitor ? EventMonitorFile.open(command.eventMonitor) : undefined;
  const vmm = new VmmHandle();
  if (monitor) vmm.events.subscribe({ event: (record) => monitor.write(record), end: () => monitor.close() });
  vmm.events.publish(eventRecord('vmm', 'starting'));
  let socket: ApiSocket | undefined;
  let input: TerminalInput | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => { finish = resolve; });

  vmm.onEvent((event) => {
    if (event.type === 'vmm-shutdown') finish(EXIT_OK);
    else if (!command.apiSocket && !(command.noShutdown && event.exit.kind !== 'failure')) finish(exitCodeForVm(event.exit));
  });
  const stop = (signal: NodeJS.Signals): void => {
    log.info(`${signal}: shutting down`);
    vmm.request('vmm.shutdown').catch(() => finish(EXIT_OK));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    if (command.apiSocket) {
      socket = await listenApiSocket(createApiServer(vmm), command.apiSocket);
      log.info(`API listening on ${socket.description}`);
    }
    if (command.config) {
      await vmm.request('vm.create', command.config);
      if (command.config.serial.mode === 'Tty' || command.config.console.mode === 'Tty') input = forwardStdin((bytes) => vmm.terminalInput(bytes));
      await vmm.request('vm.boot');
    }
  } catch (error) {
    if (!(error instanceof VmmRequestError)) throw error;
    process.stderr.write(`tsvmm: ${error.message}\n`);
    finish(exitCodeForStatus(error.status));
  }

  const code = await finished;
  input?.close();
  vmm.events.end();
  await socket?.close();
  await vmm.request('vmm.shutdown').catch(() => undefined);
  await vmm.close();
  return code;
}
