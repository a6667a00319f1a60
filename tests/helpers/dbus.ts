// D-Bus for tests: a private bus (a dbus-daemon of the test's own), tsvmm
// serving the API on it, and three kinds of client: gdbus and busctl from the
// command line, and the library tsvmm itself uses.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall, hasCommand, isRoot } from '../../guest/apt.js';
import { socketPathOf } from '../../src/dbus/address.js';
import { DbusCallError, DbusConnection } from '../../src/dbus/connection.js';
import { DBUS_INTERFACE } from '../../src/dbus/names.js';
import { nodeCommand, TSVMM, TSVMM_REMOTE, withSerialOnStdout } from './tsvmm.js';
import { scaled, sleep } from './wait.js';

/** The commands and the Debian packages that have them. */
const TOOLS: Record<string, string> = { 'dbus-daemon': 'dbus-daemon', gdbus: 'libglib2.0-bin', busctl: 'systemd' };

/** The Debian packages of the D-Bus tools this host lacks. */
export function missingDbusPackages(): string[] {
  return Object.keys(TOOLS).filter((command) => !hasCommand(command)).map((command) => TOOLS[command] as string);
}

/** Installs Debian's packages for dbus-daemon, gdbus and busctl when missing (as root); throws when they cannot be had. */
export function ensureDbusTools(): void {
  const missing = missingDbusPackages();
  if (missing.length === 0) return;
  if (!isRoot()) throw new Error(`the D-Bus tests need Debian's ${missing.join(', ')}: run as root, or apt-get install them`);
  aptInstall(missing);
}

/** A session bus of the test's own, on a socket in a fresh directory. */
export class PrivateBus {
  private constructor(readonly address: string, private readonly daemon: ChildProcess) {}

  static async start(): Promise<PrivateBus> {
    ensureDbusTools();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-dbus-'));
    const daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1', `--address=unix:path=${join(dir, 'bus')}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      daemon.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.trim());
      });
      daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before printing its address`)));
    });
    return new PrivateBus(address, daemon);
  }

  get socketPath(): string {
    return socketPathOf(this.address) as string;
  }

  /** The environment a process needs to find this bus as its session bus. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, DBUS_SESSION_BUS_ADDRESS: this.address };
  }

  async client(): Promise<DbusConnection> {
    return DbusConnection.open(this.socketPath);
  }

  stop(): void {
    this.daemon.kill();
  }
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** tsvmm serving the API on a private bus (and optionally on a REST socket too). */
export class DbusVmm {
  readonly output = { stderr: '' };

  private constructor(readonly bus: PrivateBus, readonly name: string, readonly path: string, readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => { this.output.stderr += chunk.toString(); });
  }

  /** Starts tsvmm and waits until it owns its name on the bus. */
  static async start(bus: PrivateBus, args: string[] = [], name = 'org.tsvmm.Test', path = '/org/tsvmm/Test'): Promise<DbusVmm> {
    const child = spawn(...nodeCommand(TSVMM, ['--dbus-service-name', name, '--dbus-object-path', path, ...withSerialOnStdout(args)]), {
      env: bus.env(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    const vmm = new DbusVmm(bus, name, path, child);
    const probe = await bus.client();
    try {
      const deadline = Date.now() + scaled(10_000);
      while (child.exitCode === null && !(await nameHasOwner(probe, name))) {
        if (Date.now() > deadline) throw new Error(`tsvmm did not take ${name} on the bus: ${vmm.output.stderr}`);
        await sleep(25);
      }
    } finally {
      await probe.close();
    }
    if (child.exitCode !== null) throw new Error(`tsvmm exited (${child.exitCode}) before owning ${name}: ${vmm.output.stderr}`);
    return vmm;
  }

  /** `gdbus call` of one of the API's methods; the arguments are the method's (a JSON string, or none). */
  gdbus(method: string, ...args: string[]): Promise<CommandResult> {
    return runCommand('gdbus', ['call', `--address=${this.bus.address}`, '--dest', this.name, '--object-path', this.path,
      '--method', `${DBUS_INTERFACE}.${method}`, ...args], this.bus.env());
  }

  /** `busctl call` of one of the API's methods: busctl takes the signature before the arguments. */
  busctl(method: string, ...args: string[]): Promise<CommandResult> {
    const signature = args.length === 0 ? [] : ['s'.repeat(args.length)];
    return runCommand('busctl', [`--address=${this.bus.address}`, 'call', this.name, this.path, DBUS_INTERFACE, method, ...signature, ...args], this.bus.env());
  }

  /** `tsvmm-remote` over D-Bus, as ch-remote takes it: --dbus-service-name and --dbus-object-path before the command. */
  remote(args: string[], options: { input?: string } = {}): Promise<CommandResult> {
    return runCommand(...nodeCommand(TSVMM_REMOTE, ['--dbus-service-name', this.name, '--dbus-object-path', this.path, ...args]), this.bus.env(), options.input);
  }

  /** Any command-line tool against this bus (busctl introspect, gdbus introspect...). */
  tool(command: string, args: string[]): Promise<CommandResult> {
    return runCommand(command, args, this.bus.env());
  }

  /** Stops tsvmm with SIGTERM unless it has ended; resolves with its exit status. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited();
  }

  exited(ms = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tsvmm did not exit')), scaled(ms));
      this.child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
    });
  }
}

/** A method call through the library; resolves with the reply's arguments, or the error's name and text. */
export async function callApi(client: DbusConnection, vmm: DbusVmm, method: string, args: string[] = []):
Promise<{ ok: true; body: unknown[] } | { ok: false; name: string; message: string }> {
  try {
    const body = await client.call({
      destination: vmm.name, path: vmm.path, interface: DBUS_INTERFACE, member: method,
      ...(args.length > 0 ? { signature: 's'.repeat(args.length), body: args } : {}),
    });
    return { ok: true, body };
  } catch (error) {
    if (!(error instanceof DbusCallError)) throw error;
    return { ok: false, name: error.errorName, message: error.message.slice(error.errorName.length + 2) };
  }
}

/** Collects the Event signals of `vmm` as parsed records. */
export async function followEvents(client: DbusConnection, vmm: DbusVmm): Promise<Array<{ source: string; event: string }>> {
  const events: Array<{ source: string; event: string }> = [];
  await client.call({
    destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch',
    signature: 's', body: [`type='signal',interface='${DBUS_INTERFACE}',member='Event',path='${vmm.path}'`],
  });
  client.onMessage((message) => {
    if (message.member === 'Event' && typeof message.body?.[0] === 'string') events.push(JSON.parse(message.body[0]) as { source: string; event: string });
  });
  return events;
}

/** Whether `name` has an owner on the bus (the bus daemon's NameHasOwner). */
export async function nameHasOwner(client: DbusConnection, name: string): Promise<boolean> {
  const [has] = await client.call({
    destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner',
    signature: 's', body: [name],
  });
  return has === true;
}
