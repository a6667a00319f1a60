// The `tsvmm` command line: flags in Cloud Hypervisor's style, turned into
// a VmConfig. Nothing here touches KVM.
import { parseArgs } from 'node:util';
import { parseApiSocket, type ApiSocketSpec } from '../api/socket.js';
import { parseEventMonitor, type EventMonitorSpec } from '../events/monitor-file.js';
import { ConfigError } from '../util/errors.js';
import {
  defaultVmConfig, parseConsole, parseCpus, parseDisk, parseMemory, parseNet, parseRng, validateVmConfig, type VmConfig,
} from '../vm/config.js';

export interface CliCommand {
  kind: 'run';
  /** The VM to create and boot at once, when a payload was given. */
  config?: VmConfig;
  apiSocket?: ApiSocketSpec;
  verbosity: number;
  /** Where log lines go instead of stderr (appended). */
  logFile?: string;
  /** Where every event is written as a JSON line. */
  eventMonitor?: EventMonitorSpec;
  /** Keep running after the guest powers off (QEMU's -no-shutdown); the API can boot it again. */
  noShutdown: boolean;
}

export type CliRequest = CliCommand | { kind: 'help' } | { kind: 'version' };

const OPTIONS = {
  'api-socket': { type: 'string' },
  kernel: { type: 'string' },
  initramfs: { type: 'string' },
  cmdline: { type: 'string' },
  firmware: { type: 'string' },
  cpus: { type: 'string' },
  memory: { type: 'string' },
  serial: { type: 'string' },
  console: { type: 'string' },
  rng: { type: 'string' },
  disk: { type: 'string', multiple: true },
  net: { type: 'string', multiple: true },
  'no-shutdown': { type: 'boolean' },
  'event-monitor': { type: 'string' },
  'log-file': { type: 'string' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const USAGE = `Usage: tsvmm [OPTIONS]

Boots a Linux kernel in a KVM virtual machine, at once when a payload is
given, and/or serves the REST API (Cloud Hypervisor's /api/v1) on a socket.

API:
  --api-socket path=PATH   serve the REST API on a UNIX socket (mode 0600); also fd=N

Payload:
  --kernel PATH            ELF vmlinux with a PVH entry note, or a bzImage; boots at once
  --initramfs PATH         initramfs (cpio, optionally compressed) given to the kernel
  --cmdline STRING         kernel command line

Machine:
  --cpus boot=N            vCPUs at boot (1-254; max=M must equal N for now) [default: boot=1]
  --memory size=SIZE       guest RAM, bytes or with K/M/G/T suffix [default: size=512M]

Devices:
  --serial MODE            COM1 16550 UART [default: tty]; MODE is one of
                             off          no device
                             null         output discarded
                             tty          tsvmm's stdout, and its stdin as input
                             file=PATH    output written to PATH
                             pty          a pseudo-terminal; its path is logged
                                          and shown in vm.info (serial.file)
                             socket=PATH  a UNIX socket to attach to
                             tcp=[HOST:]PORT  a TCP console (loopback unless
                                          HOST is given; port 0 picks one)
                           pty, socket and tcp take one client at a time and
                           replay the last 64 KiB of output on attach
  --console MODE           a virtio console (hvc0 in Linux), the same modes as
                           --serial; only one of the two may be tty [default: off]
  --rng src=PATH           a virtio-rng device reading entropy from PATH [default src: /dev/urandom]
  --disk path=F[,readonly=on|off][,direct=on|off][,id=ID]
                           a virtio-blk device over raw image F (repeatable)
  --net [tap=NAME][,ip=IP][,mask=MASK][,mac=MAC][,id=ID]
                           a virtio-net device on a TAP interface, created
                           when NAME is empty or absent (repeatable)
  --net remote=HOST:PORT[,local=HOST:PORT][,mac=MAC][,id=ID]
                           a virtio-net device on a UDP tunnel: one datagram
                           per frame to remote, received from remote only;
                           local port 0 (the default) picks a free port

Life cycle:
  A guest that resets (reboot) boots again in the same process. A guest that
  powers off ends tsvmm with status 0, unless the API is served or:
  --no-shutdown            keep running after the guest powers off

Events and logs:
  --event-monitor path=PATH|fd=N
                           write every event (VMM, VM, devices, guest panic)
                           as one JSON line to PATH (truncated) or fd N
  -v, --verbose            more logging (-v info, -vv debug; API requests at info)
  --log-file PATH          log to PATH (appended) instead of stderr

Other:
  -V, --version            print the version and exit
  -h, --help               print this help and exit

Option strings follow Cloud Hypervisor: comma-separated key=value pairs.

Exit status:
  0  the guest powered off, tsvmm was stopped by SIGINT/SIGTERM, or
     vmm.shutdown was requested (with --api-socket or --no-shutdown, a
     guest that ends leaves tsvmm running until then)
  1  the VM failed (KVM internal error, triple fault, failed entry...)
  2  bad command line or payload (reported before any VM is created),
     or the API socket is in use
  3  the host cannot run the VM (no /dev/kvm, missing KVM capability)
`;

export function parseCommandLine(argv: string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const apiSocket = values['api-socket'] === undefined ? undefined : parseApiSocket(values['api-socket']);
  const verbosity = values.verbose?.length ?? 0;
  const noShutdown = values['no-shutdown'] ?? false;
  const logFile = values['log-file'];
  if (logFile === '') throw new ConfigError('--log-file needs a path');
  const eventMonitor = values['event-monitor'] === undefined ? undefined : parseEventMonitor(values['event-monitor']);
  const common = { verbosity, noShutdown, ...(logFile ? { logFile } : {}), ...(eventMonitor ? { eventMonitor } : {}) };
  const machineFlags = [values.kernel, values.initramfs, values.cmdline, values.firmware, values.cpus, values.memory,
    values.serial, values.console, values.rng, values.disk, values.net];
  if (values.kernel === undefined) {
    if (apiSocket === undefined) throw new ConfigError('give --kernel to boot, or --api-socket to serve the API (see --help)');
    if (machineFlags.some((flag) => flag !== undefined)) {
      throw new ConfigError('VM options need --kernel; without one, create the VM through the API');
    }
    return { kind: 'run', apiSocket, ...common };
  }
  const config = defaultVmConfig();
  config.payload = {
    kernel: values.kernel,
    initramfs: values.initramfs,
    cmdline: values.cmdline,
    firmware: values.firmware,
  };
  if (values.cpus !== undefined) config.cpus = parseCpus(values.cpus);
  if (values.memory !== undefined) config.memory = parseMemory(values.memory);
  if (values.serial !== undefined) config.serial = parseConsole('--serial', values.serial);
  if (values.console !== undefined) config.console = parseConsole('--console', values.console);
  if (values.rng !== undefined) config.rng = parseRng(values.rng);
  if (values.disk !== undefined) config.disks = values.disk.map(parseDisk);
  if (values.net !== undefined) config.net = values.net.map(parseNet);
  validateVmConfig(config);
  return { kind: 'run', config, apiSocket, ...common };
}
