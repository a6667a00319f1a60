// The `tsvmm` command line: Cloud Hypervisor's options and option strings,
// turned into a vm.create body. Options Cloud Hypervisor has and tsvmm has
// not are known, and refused by name. Nothing here touches KVM; the body
// is checked by the control loop, as an API body is.
import { parseApiSocket, type ApiSocketSpec } from '../api/socket.js';
import {
  parseConsole, parseCpus, parseDebugConsole, parseDisk, parseMemory, parseNet, parsePlatform, parseRestore, parseRng, parseSerial,
  parseVsock,
} from '../config/options.js';
import type { RestoreConfigBody, VmConfigBody } from '../config/schema.js';
import { checkObjectPath, checkServiceName } from '../dbus/names.js';
import type { DbusApiSpec } from '../dbus/service.js';
import { parseEventMonitor, type EventMonitorSpec } from '../events/monitor-file.js';
import { ConfigError } from '../util/errors.js';
import { parseArgv, type OptionSpec, type ParsedArgv } from './argv.js';

export interface CliCommand {
  kind: 'run';
  /** The VM to create and boot at once, when a payload was given. */
  config?: VmConfigBody & Required<Pick<VmConfigBody, 'serial' | 'console'>>;
  /** The snapshot to restore at once (--restore), instead of a VM to boot. */
  restore?: RestoreConfigBody;
  apiSocket?: ApiSocketSpec;
  /** Serve the API on D-Bus too (or only). */
  dbus?: DbusApiSpec;
  verbosity: number;
  /** Where log lines go instead of stderr (appended). */
  logFile?: string;
  /** Where every event is written as a JSON line. */
  eventMonitor?: EventMonitorSpec;
  /** Keep running after the guest powers off (QEMU's -no-shutdown); the API can boot it again. */
  noShutdown: boolean;
}

export type CliRequest = CliCommand | { kind: 'help' } | { kind: 'version' };

const one: OptionSpec = { arity: 'one' };
const many: OptionSpec = { arity: 'many' };
const flag: OptionSpec = { arity: 'flag' };

/** The options tsvmm implements. */
const OPTIONS: Record<string, OptionSpec> = {
  'api-socket': one, kernel: one, initramfs: one, cmdline: one, cpus: one, memory: one, platform: one,
  serial: one, console: one, 'debug-console': one, rng: one, disk: many, net: many, vsock: one, pvpanic: flag,
  restore: one, seccomp: one, 'no-shutdown': flag, 'event-monitor': one, 'log-file': one,
  'dbus-service-name': one, 'dbus-object-path': one, 'dbus-system-bus': flag,
  v: { arity: 'count', short: 'v' }, verbose: { arity: 'count' }, version: { arity: 'flag', short: 'V' }, help: { arity: 'flag', short: 'h' },
};

/** Cloud Hypervisor's options that tsvmm does not implement: known, so the refusal names them. */
const NOT_SUPPORTED: Record<string, OptionSpec> = {
  balloon: one, device: many, fs: many, 'generic-vhost-user': many, pmem: many, 'user-device': many, vdpa: many,
  numa: many, 'memory-zone': many, 'pci-segment': many, 'rate-limit-group': many, tpm: one,
  landlock: flag, 'landlock-rules': many, watchdog: flag, rtc: { arity: 'optional' }, gdb: one, ivshmem: one,
  igvm: one, 'host-data': one, 'fw-cfg-config': one, pvmemcontrol: flag, firmware: one,
  'log-format': one,
};

const SECCOMP_VALUES = ['true', 'false', 'log', 'errno'];

function single(parsed: ParsedArgv, name: string): string | undefined {
  return parsed.get(name)?.[0];
}

/** tsvmm installs no seccomp filter; every value Cloud Hypervisor takes is accepted (see the README). */
function checkSeccomp(value: string | undefined): void {
  if (value === undefined) return;
  if (!SECCOMP_VALUES.includes(value)) throw new ConfigError(`--seccomp: "${value}" is not one of ${SECCOMP_VALUES.join(', ')}`);
}

/** The vm.create body the machine options describe. */
function vmConfigBody(parsed: ParsedArgv, kernel: string): NonNullable<CliCommand['config']> {
  const text = (name: string): string | undefined => single(parsed, name);
  const cmdline = text('cmdline');
  const initramfs = text('initramfs');
  const config: NonNullable<CliCommand['config']> = {
    payload: { kernel, ...(initramfs !== undefined ? { initramfs } : {}), ...(cmdline !== undefined ? { cmdline } : {}) },
    serial: parseSerial(text('serial') ?? 'null'),
    console: parseConsole(text('console') ?? 'tty'),
  };
  const section = <T>(name: string, parse: (input: string) => T): T | undefined => {
    const value = text(name);
    return value === undefined ? undefined : parse(value);
  };
  const cpus = section('cpus', parseCpus);
  const memory = section('memory', parseMemory);
  const platform = section('platform', parsePlatform);
  const debugConsole = section('debug-console', parseDebugConsole);
  const rng = section('rng', parseRng);
  const vsock = section('vsock', parseVsock);
  return {
    ...config,
    ...(cpus ? { cpus } : {}),
    ...(memory ? { memory } : {}),
    ...(platform ? { platform } : {}),
    ...(debugConsole ? { debug_console: debugConsole } : {}),
    ...(rng ? { rng } : {}),
    ...(parsed.has('disk') ? { disks: (parsed.get('disk') ?? []).map(parseDisk) } : {}),
    ...(parsed.has('net') ? { net: (parsed.get('net') ?? []).map(parseNet) } : {}),
    ...(vsock ? { vsock } : {}),
    ...(parsed.has('pvpanic') ? { pvpanic: true } : {}),
  };
}

/** Cloud Hypervisor's rule: both names or neither; --dbus-system-bus alone changes nothing. */
function parseDbus(parsed: ParsedArgv): DbusApiSpec | undefined {
  const serviceName = single(parsed, 'dbus-service-name');
  const objectPath = single(parsed, 'dbus-object-path');
  if (serviceName === undefined && objectPath === undefined) return undefined;
  if (objectPath === undefined) throw new ConfigError('`--dbus-object-path` option isn\'t provided (--dbus-service-name needs it)');
  if (serviceName === undefined) throw new ConfigError('`--dbus-service-name` option isn\'t provided (--dbus-object-path needs it)');
  return { serviceName: checkServiceName(serviceName), objectPath: checkObjectPath(objectPath), systemBus: parsed.has('dbus-system-bus') };
}

const MACHINE_OPTIONS = ['initramfs', 'cmdline', 'cpus', 'memory', 'platform', 'serial', 'console', 'debug-console',
  'rng', 'disk', 'net', 'vsock', 'pvpanic'];

export function parseCommandLine(argv: string[]): CliRequest {
  const parsed = parseArgv(argv, { ...OPTIONS, ...NOT_SUPPORTED });
  if (parsed.has('help')) return { kind: 'help' };
  if (parsed.has('version')) return { kind: 'version' };
  const refused = Object.keys(NOT_SUPPORTED).find((name) => parsed.has(name));
  if (refused) throw new ConfigError(`--${refused} is not supported by tsvmm`, { code: 'UnsupportedField' });
  checkSeccomp(single(parsed, 'seccomp'));

  const apiSocketText = single(parsed, 'api-socket');
  const apiSocket = apiSocketText === undefined ? undefined : parseApiSocket(apiSocketText);
  const dbus = parseDbus(parsed);
  const verbosity = (parsed.get('v')?.length ?? 0) + (parsed.get('verbose')?.length ?? 0);
  const noShutdown = parsed.has('no-shutdown');
  const logFile = single(parsed, 'log-file');
  if (logFile === '') throw new ConfigError('--log-file needs a path');
  const monitorText = single(parsed, 'event-monitor');
  const eventMonitor = monitorText === undefined ? undefined : parseEventMonitor(monitorText);
  const common = { verbosity, noShutdown, ...(dbus ? { dbus } : {}), ...(logFile ? { logFile } : {}), ...(eventMonitor ? { eventMonitor } : {}) };
  const kernel = single(parsed, 'kernel');
  const restoreText = single(parsed, 'restore');
  if (restoreText !== undefined) {
    if (kernel !== undefined || MACHINE_OPTIONS.some((name) => parsed.has(name))) {
      throw new ConfigError('--restore takes the VM from the snapshot: give no --kernel or other VM options with it');
    }
    return { kind: 'run', restore: parseRestore(restoreText), apiSocket, ...common };
  }
  if (kernel === undefined) {
    if (apiSocket === undefined && dbus === undefined) {
      throw new ConfigError('give --kernel to boot, or --api-socket (or --dbus-service-name) to serve the API (see --help)');
    }
    if (MACHINE_OPTIONS.some((name) => parsed.has(name))) {
      throw new ConfigError('VM options need --kernel; without one, create the VM through the API');
    }
    return { kind: 'run', apiSocket, ...common };
  }
  return { kind: 'run', config: vmConfigBody(parsed, kernel), apiSocket, ...common };
}
