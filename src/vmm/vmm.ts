// The VMM control loop's state: at most one VM, its configuration and its
// life-cycle state. Only the control loop calls these methods, one request
// at a time, so no state here needs a lock.
import type { VmCountersBody, VmInfoBody, VmmPingBody } from '../api/schema.js';
import { withDeviceChoices } from '../config/devices.js';
import { deviceIds, validateVmConfig } from '../config/rules.js';
import {
  MAX_DEVICES_PER_KIND, type DiskConfig, type NetConfig, type RestoreConfig, type VmConfig, type VmReceiveMigrationConfig,
  type VmSendMigrationConfig, type VmSnapshotConfig, type VsockConfig,
} from '../config/schema.js';
import { parseEndpoint } from '../migration/endpoint.js';
import { MigrationReceiver, type IncomingVm } from '../migration/receive.js';
import { sendMigration, StrandedMigrationError, type MigrationOutcome } from '../migration/send.js';
import { openSnapshot, snapshotDestination, takeSnapshot } from '../snapshot/snapshot.js';
import { GuestConsole } from '../console/guest-console.js';
import type { EmitEvent } from '../events/record.js';
import {
  ConfigError, ConflictError, errorMessage, MigrationError, NotFoundError, NotSupportedError, StateError,
} from '../util/errors.js';
import { log, logStartupStep } from '../util/log.js';
import { VERSION } from '../version.js';
import { Kvm } from '../vm/kvm.js';
import { readBootPayload } from '../vm/payload.js';
import { checkVirtioDeviceFiles } from '../vm/virtio-devices.js';
import type { VcpuExit } from '../vm/vcpu-control.js';
import { coolVcpuWorkers, warmVcpuWorkers } from '../vm/vcpu-pool.js';
import { Vm } from '../vm/vm.js';
import { Deferred } from './deferred.js';

export type VmState = 'Created' | 'Running' | 'Paused' | 'Shutdown';

export type VmmEvent =
  | { type: 'vm-ended'; exit: VcpuExit }
  | { type: 'vmm-shutdown' };

export interface VmmHost {
  /** Runs `task` on the control loop after the requests already queued. */
  schedule(task: () => Promise<void>): void;
  emit(event: VmmEvent): void;
  /** Events for the event monitor and the event stream. */
  report: EmitEvent;
}

/** A migration this VMM sends or receives; while there is one, nothing else may change the VM. */
interface Migration {
  abort: AbortController;
  /** Settles when the migration has ended and released what it used. */
  done: Promise<unknown>;
}

export class Vmm {
  private kvm: Kvm | undefined;
  private config: VmConfig | undefined;
  private vm: Vm | undefined;
  private state: VmState = 'Created';
  /** The consoles live as long as the config: across reboots, clients stay attached. */
  private serial: GuestConsole | undefined;
  private console: GuestConsole | undefined;
  private migration: Migration | undefined;

  constructor(private readonly host: VmmHost) {}

  ping(): VmmPingBody {
    return { build_version: `tsvmm ${VERSION}`, version: VERSION, pid: process.pid, features: ['dbus_api', 'kvm'] };
  }

  /** `body` has passed `acceptBody`: its defaults are filled in. */
  async create(body: VmConfig): Promise<void> {
    if (this.config) throw new StateError('a VM is already created; delete it first', { code: 'VmAlreadyCreated' });
    this.requireNoMigration('create a VM');
    const config = withDeviceChoices(body);
    validateVmConfig(config);
    readBootPayload(config.payload);
    await checkVirtioDeviceFiles(config);
    await this.openConsoles(config);
    this.config = config;
    this.state = 'Created';
    log.info('VM created');
    logStartupStep('VM created (config checked, consoles open)');
  }

  async boot(): Promise<void> {
    this.requireConfig();
    this.requireState('boot', ['Created', 'Shutdown']);
    this.host.report('vm', 'booting');
    await this.startVm();
    this.host.report('vm', 'booted');
    log.info('VM booted');
  }

  private async startVm(): Promise<void> {
    const config = this.requireConfig();
    // Their start is most of a boot's time: they load while the devices, memory and payload are set up.
    warmVcpuWorkers(config.cpus.boot_vcpus);
    try {
      this.kvm ??= Kvm.open();
      this.adopt(await Vm.create(this.kvm, config, { serial: this.serial, console: this.console, emit: this.host.report }));
    } catch (error) {
      await coolVcpuWorkers();
      throw error;
    }
    this.vm?.start();
    this.state = 'Running';
  }

  /** Makes `vm` this VMM's VM and follows how it ends. */
  private adopt(vm: Vm): void {
    this.vm = vm;
    void vm.exited.then((exit) => {
      if (exit.kind !== 'stopped') this.host.schedule(() => this.onGuestEnded(vm, exit));
    });
  }

  /**
   * A vCPU stopped on its own. A guest reset (i8042, ACPI reset register,
   * KVM reset event) boots the VM again in this process, as Cloud Hypervisor
   * does; a power-off or a failure shuts it down.
   */
  private async onGuestEnded(vm: Vm, exit: VcpuExit): Promise<void> {
    if (this.vm !== vm) return;
    await this.cancelMigration('the guest stopped');
    await this.destroyVm();
    this.state = 'Shutdown';
    if (exit.kind === 'reset') {
      if (exit.tripleFault) log.error(`the guest triple-faulted (KVM_EXIT_SHUTDOWN) on ${exit.tripleFault}`);
      log.info('guest reset: booting the VM again');
      if (this.config) warmVcpuWorkers(this.config.cpus.boot_vcpus);
      this.host.report('vm', 'rebooting', { reason: exit.tripleFault ? 'triple-fault' : 'guest' });
      try {
        await this.startVm();
        this.host.report('vm', 'rebooted', { reason: 'guest' });
        return;
      } catch (error) {
        this.endedByGuest({ kind: 'failure', message: `reboot after a guest reset failed: ${errorMessage(error)}` });
        return;
      }
    }
    this.endedByGuest(exit);
  }

  private endedByGuest(exit: VcpuExit): void {
    if (exit.kind === 'failure') {
      log.error(exit.message);
      this.host.report('vm', 'shutdown', { reason: 'failure', message: exit.message });
    } else {
      log.info(`VM ended: ${exit.kind}`);
      this.host.report('vm', 'shutdown', { reason: exit.kind });
    }
    this.host.emit({ type: 'vm-ended', exit });
  }

  async shutdown(): Promise<void> {
    this.requireConfig();
    this.requireState('shut down', ['Running', 'Paused']);
    await this.destroyVm();
    this.state = 'Shutdown';
    this.host.report('vm', 'shutdown');
  }

  async reboot(): Promise<void> {
    this.requireConfig();
    this.requireState('reboot', ['Running', 'Paused']);
    this.host.report('vm', 'rebooting');
    await this.destroyVm();
    this.state = 'Shutdown';
    await this.startVm();
    this.host.report('vm', 'rebooted');
  }

  async pause(): Promise<void> {
    this.requireConfig();
    this.requireState('pause', ['Running']);
    this.host.report('vm', 'pausing');
    await this.vm?.pause();
    this.state = 'Paused';
    this.host.report('vm', 'paused');
  }

  resume(): void {
    this.requireConfig();
    this.requireState('resume', ['Paused']);
    this.host.report('vm', 'resuming');
    this.vm?.start();
    this.state = 'Running';
    this.host.report('vm', 'resumed');
  }

  /** Writes a paused VM's snapshot; the VM stays paused (resume it, or shut it down). */
  async snapshot(body: VmSnapshotConfig): Promise<void> {
    const config = this.requireConfig();
    this.requireState('snapshot', ['Paused']);
    const vm = this.vm as Vm;
    const destination = snapshotDestination(body.destination_url);
    this.host.report('vm', 'snapshotting');
    try {
      await takeSnapshot(vm, config, destination, this.host.report);
    } catch (error) {
      this.host.report('vm', 'snapshot-failed', { message: errorMessage(error) });
      throw error;
    }
    this.host.report('vm', 'snapshotted', { destination_url: body.destination_url });
    log.info(`VM snapshotted to ${body.destination_url}`);
  }

  /** Starts the VM of a snapshot in this VMM, which has none; it is Paused unless `resume` says otherwise. */
  async restore(body: RestoreConfig): Promise<void> {
    if (this.config) throw new StateError('a VM is created already; restore needs a VMM without one', { code: 'VmAlreadyCreated' });
    this.requireNoMigration('restore a VM');
    this.host.report('vm', 'restoring');
    try {
      const { config, state, loadMemory } = openSnapshot(body, this.host.report);
      warmVcpuWorkers(config.cpus.boot_vcpus);
      await this.openConsoles(config);
      try {
        this.kvm ??= Kvm.open();
        const memory = await loadMemory();
        this.adopt(await Vm.restore(this.kvm, config, { serial: this.serial, console: this.console, emit: this.host.report }, { state, memory }));
      } catch (error) {
        await this.closeConsoles();
        throw error;
      }
      this.config = config;
      this.state = 'Paused';
    } catch (error) {
      await coolVcpuWorkers();
      this.host.report('vm', 'restore-failed', { message: errorMessage(error) });
      throw error;
    }
    this.host.report('vm', 'restored', { source_url: body.source_url });
    log.info(`VM restored from ${body.source_url}`);
    if (body.resume) this.resume();
  }

  /**
   * Starts migrating the VM to a tsvmm waiting in vm.receive-migration and
   * returns; the outcome comes as events (as in Cloud Hypervisor, where the
   * migration runs in a worker). Until it ends, nothing else may change the VM.
   */
  sendMigration(body: VmSendMigrationConfig): void {
    const config = this.requireConfig();
    this.requireState('migrate', ['Running', 'Paused']);
    if (body.local) throw new NotSupportedError('local: tsvmm sends guest memory over the connection; migration through shared memory (local=true) is not supported');
    const endpoint = parseEndpoint('destination_url', body.destination_url);
    const vm = this.vm as Vm;
    const abort = new AbortController();
    this.host.report('vm', 'migration-started', { destination_url: body.destination_url });
    log.info(`migrating the VM to ${body.destination_url}`);
    const outcome = sendMigration(endpoint, body, { vm, config, running: this.state === 'Running', report: this.host.report, signal: abort.signal });
    const migration: Migration = { abort, done: outcome.catch(() => undefined) };
    this.migration = migration;
    outcome.then(
      (result) => this.host.schedule(() => this.migrationSent(migration, vm, body, result)),
      (error: unknown) => this.host.schedule(async () => this.migrationFailed(migration, error)),
    );
  }

  /** The destination runs the VM: this one is shut down, or kept paused with preserve_source. */
  private async migrationSent(migration: Migration, vm: Vm, body: VmSendMigrationConfig, result: MigrationOutcome): Promise<void> {
    if (this.migration !== migration) return;
    this.migration = undefined;
    this.host.report('vm', 'migration-finished', {
      destination_url: body.destination_url, rounds: String(result.rounds), bytes: String(result.bytes),
      total_ms: result.totalMs.toFixed(1), downtime_ms: result.downtimeMs.toFixed(1),
    });
    log.info(`VM migrated to ${body.destination_url} in ${result.totalMs.toFixed(0)} ms (${result.rounds} rounds, downtime ${result.downtimeMs.toFixed(0)} ms)`);
    if (body.preserve_source) {
      this.state = 'Paused';
      this.host.report('vm', 'paused');
      return;
    }
    if (this.vm === vm) await this.destroyVm();
    this.state = 'Shutdown';
    this.host.report('vm', 'shutdown', { reason: 'migrated' });
  }

  private migrationFailed(migration: Migration, error: unknown): void {
    if (this.migration !== migration) return;
    this.migration = undefined;
    log.error(`migration failed; the VM stays here: ${errorMessage(error)}`);
    this.host.report('vm', 'migration-failed', { message: errorMessage(error) });
    if (error instanceof StrandedMigrationError && this.state === 'Running') {
      this.state = 'Paused';
      this.host.report('vm', 'paused');
    }
  }

  /**
   * Listens for a migration and replies once the VM runs here (or the
   * migration failed); the API answers other requests meanwhile, but none
   * may create or restore a VM.
   */
  async receiveMigration(body: VmReceiveMigrationConfig): Promise<Deferred> {
    if (this.config) throw new StateError('a VM is created already; receiving a migration needs a VMM without one', { code: 'VmAlreadyCreated' });
    this.requireNoMigration('receive a migration');
    const receiver = await MigrationReceiver.listen(parseEndpoint('receiver_url', body.receiver_url), body.network_overrides);
    const abort = new AbortController();
    this.host.report('vm', 'migration-receive-ready', { receiver_url: body.receiver_url });
    const received = this.receiveInto(receiver, abort.signal);
    const migration: Migration = { abort, done: received.catch(() => undefined) };
    this.migration = migration;
    return new Deferred(received.finally(() => { if (this.migration === migration) this.migration = undefined; }));
  }

  private async receiveInto(receiver: MigrationReceiver, signal: AbortSignal): Promise<void> {
    const abort = (): void => receiver.abort();
    signal.addEventListener('abort', abort);
    try {
      await receiver.accept(signal);
      this.host.report('vm', 'migration-receive-started');
      const incoming = await receiver.receive(this.host.report, (config) => warmVcpuWorkers(config.cpus.boot_vcpus));
      await this.runIncoming(incoming);
      const resumeMs = (performance.now() - incoming.stateArrivedAt).toFixed(1);
      try {
        await receiver.confirm({ ok: true });
      } catch (error) {
        await this.forgetVm();
        throw new MigrationError(`the VM ran here, but the sender could not be told (${errorMessage(error)}); it is stopped here so it runs in one place only`);
      }
      this.host.report('vm', 'migration-receive-finished', { resume_ms: resumeMs });
      log.info(`VM received by migration; it runs, ${resumeMs} ms after the sender's last frame`);
    } catch (error) {
      await coolVcpuWorkers();
      await receiver.confirm({ ok: false, message: errorMessage(error) }).catch(() => undefined);
      this.host.report('vm', 'migration-receive-failed', { message: errorMessage(error) });
      throw error instanceof MigrationError || error instanceof ConfigError ? error : new MigrationError(errorMessage(error));
    } finally {
      signal.removeEventListener('abort', abort);
      await receiver.close();
    }
  }

  /** Makes the received VM this VMM's and runs it. */
  private async runIncoming({ config, state, memory }: IncomingVm): Promise<void> {
    try {
      await this.openConsoles(config);
    } catch (error) {
      memory.free();
      throw error;
    }
    let vm: Vm;
    try {
      this.kvm ??= Kvm.open();
      vm = await Vm.restore(this.kvm, config, { serial: this.serial, console: this.console, emit: this.host.report }, { state, memory, lockDisks: false });
    } catch (error) {
      await this.closeConsoles();
      throw error;
    }
    try {
      vm.lockDisks();
    } catch (error) {
      await vm.destroy();
      await this.closeConsoles();
      throw error;
    }
    this.adopt(vm);
    this.config = config;
    vm.start();
    this.state = 'Running';
  }

  /** Ends the migration in progress, if any, and waits until it has let go of the VM. */
  private async cancelMigration(reason: string): Promise<void> {
    const migration = this.migration;
    if (!migration) return;
    migration.abort.abort(reason);
    await migration.done;
    if (this.migration === migration) this.migration = undefined;
  }

  /** Idempotent, as Cloud Hypervisor's: deleting when there is no VM succeeds. */
  async delete(): Promise<void> {
    this.requireNoMigration('delete the VM');
    if (!this.config) return;
    await this.forgetVm();
    this.host.report('vm', 'deleted');
  }

  private async forgetVm(): Promise<void> {
    await this.destroyVm();
    await coolVcpuWorkers();
    await this.closeConsoles();
    this.config = undefined;
    this.state = 'Created';
  }

  /** Cold-adds a disk to the config; the next boot has it. */
  async addDisk(disk: DiskConfig): Promise<void> {
    await this.addDevice('disk', disk.id, (config) => ({ ...config, disks: [...(config.disks ?? []), disk] }));
  }

  /** Cold-adds a NIC to the config; the next boot has it. */
  async addNet(net: NetConfig): Promise<void> {
    await this.addDevice('network device', net.id, (config) => ({ ...config, net: [...(config.net ?? []), net] }));
  }

  /** Cold-adds the vsock device; a VM has one at most, as in Cloud Hypervisor. */
  async addVsock(vsock: VsockConfig): Promise<void> {
    if (this.requireConfig().vsock) throw new ConfigError('the VM has a vsock device already (one per VM)', { code: 'DeviceLimit' });
    await this.addDevice('vsock device', vsock.id, (config) => ({ ...config, vsock }));
  }

  private async addDevice(what: string, id: string | undefined, add: (config: VmConfig) => VmConfig): Promise<void> {
    const config = this.requireConfig();
    this.requireNoMigration(`add a ${what}`);
    if (this.state === 'Running' || this.state === 'Paused') {
      throw new NotSupportedError(`adding a ${what} to a running VM needs hotplug, which is not supported yet; add it before boot`);
    }
    if (id !== undefined && deviceIds(config).includes(id)) throw new ConflictError(`a device with id ${id} exists`);
    const next = withDeviceChoices(add(config));
    if ((next.disks?.length ?? 0) > MAX_DEVICES_PER_KIND || (next.net?.length ?? 0) > MAX_DEVICES_PER_KIND) {
      throw new ConfigError(`a VM has at most ${MAX_DEVICES_PER_KIND} ${what}s`, { code: 'DeviceLimit' });
    }
    validateVmConfig(next);
    await checkVirtioDeviceFiles(next);
    this.config = next;
  }

  /** Raises the ACPI power button event; what follows is up to the guest (acpid powers off). */
  powerButton(): void {
    this.requireConfig();
    this.requireState('press the power button of', ['Running']);
    this.vm?.pressPowerButton();
  }

  nmi(): void {
    this.requireConfig();
    this.requireState('inject an NMI into', ['Running']);
    this.vm?.injectNmi();
  }

  /** The config, with what the running VM's backends chose filled in (TAP names, bound UDP ports). */
  info(): VmInfoBody {
    const config = this.requireConfig();
    const resolved = this.vm?.netResolved() ?? [];
    const net = config.net?.map((nic, i) => ({ ...nic, ...resolved[i] }));
    const serial = this.serial?.resolved() ?? config.serial;
    const console = this.console?.resolved() ?? config.console;
    return { config: { ...config, serial, console, ...(net ? { net } : {}) }, state: this.state, memory_actual_size: config.memory.size };
  }

  counters(): VmCountersBody {
    this.requireConfig();
    return this.vm?.counters() ?? {};
  }

  async shutdownVmm(): Promise<void> {
    await this.cancelMigration('the VMM is shutting down');
    await this.destroyVm();
    await coolVcpuWorkers();
    await this.closeConsoles();
    this.kvm?.close();
    this.kvm = undefined;
    this.host.report('vmm', 'shutdown');
    // Scheduled, so the frontends get this request's reply before the event.
    this.host.schedule(async () => this.host.emit({ type: 'vmm-shutdown' }));
  }

  /** Input from tsvmm's own terminal, for the console in tty mode; returns how many bytes it took. */
  async terminalInput(bytes: Uint8Array): Promise<number> {
    const tty = [this.serial, this.console].find((console) => console?.config.mode === 'Tty');
    return tty ? tty.takeInput(bytes) : bytes.length;
  }

  private async openConsoles(config: VmConfig): Promise<void> {
    try {
      if (config.serial.mode !== 'Off') this.serial = await GuestConsole.open('serial', config.serial);
      if (config.console.mode !== 'Off') this.console = await GuestConsole.open('console', config.console);
    } catch (error) {
      await this.closeConsoles();
      throw error;
    }
  }

  private async closeConsoles(): Promise<void> {
    await this.serial?.close();
    await this.console?.close();
    this.serial = undefined;
    this.console = undefined;
  }

  private async destroyVm(): Promise<void> {
    const vm = this.vm;
    this.vm = undefined;
    await vm?.destroy();
  }

  private requireConfig(): VmConfig {
    if (!this.config) throw new NotFoundError('no VM is created');
    return this.config;
  }

  private requireNoMigration(action: string): void {
    if (this.migration) throw new StateError(`cannot ${action} while a migration is in progress`);
  }

  private requireState(action: string, allowed: VmState[]): void {
    this.requireNoMigration(action);
    if (!allowed.includes(this.state)) {
      throw new StateError(`cannot ${action} a VM that is ${this.state} (allowed: ${allowed.join(', ')})`);
    }
  }
}
