#!/usr/bin/env node
// tsvmm: boots the VM described on the command line and exits when it ends.
import { parseCommandLine, USAGE } from '../src/cli/args.js';
import { forwardStdin } from '../src/cli/terminal.js';
import { ConfigError, HostError, PayloadError, errorMessage } from '../src/util/errors.js';
import { configureLog, levelFromVerbosity, log } from '../src/util/log.js';
import { VERSION } from '../src/version.js';
import { Kvm } from '../src/vm/kvm.js';
import { Vm } from '../src/vm/vm.js';

const EXIT_OK = 0;
const EXIT_VM_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_HOST = 3;

function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof PayloadError) return EXIT_USAGE;
  if (error instanceof HostError) return EXIT_HOST;
  return EXIT_VM_FAILED;
}

async function main(argv: string[]): Promise<number> {
  const request = parseCommandLine(argv);
  if (request.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (request.kind === 'version') {
    process.stdout.write(`tsvmm ${VERSION}\n`);
    return EXIT_OK;
  }
  configureLog({ level: levelFromVerbosity(request.verbosity), fd: 2 });
  const kvm = Kvm.open();
  const vm = await Vm.create(kvm, request.config);
  const input = request.config.serial.mode === 'Tty' ? forwardStdin(vm) : undefined;
  const stopOn = (signal: NodeJS.Signals): void => {
    log.info(`${signal}: stopping the VM`);
    void vm.stop();
  };
  process.once('SIGINT', stopOn);
  process.once('SIGTERM', stopOn);
  vm.start();
  const exit = await vm.exited;
  input?.close();
  await vm.destroy();
  kvm.close();
  if (exit.kind === 'failure') {
    log.error(exit.message);
    return EXIT_VM_FAILED;
  }
  log.info(`VM ended: ${exit.kind}`);
  return EXIT_OK;
}

// process.exit: stdin may still hold the event loop open once the VM is gone.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tsvmm: ${errorMessage(error)}\n`);
    process.exit(exitCodeFor(error));
  },
);
