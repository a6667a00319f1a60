// The VMM control loop's state: at most one VM, its configuration and its
// life-cycle state. Only the control loop calls these methods, one request
// at a time, so no state here needs a lock.
import type { VmCountersBody, VmInfoBody, VmmPingBody } from '../api/schema.js';
import { withDeviceChoices } from '../config/devices.js';
import { deviceIds, validateVmConfig } from '../config/rules.js';
import {
  MAX_DEVICES_PER_KIND, type DiskConfig, type NetConfig, type RestoreConfig, type VmConfig, type VmSnapshotConfig, type VsockConfig,
} from '../config/schema.js';
import { openSnapshot, snapshotDestination, takeSnapshot } from '../snapshot/snapshot.js';
import { GuestConsole } from '../console/guest-console.js';
import type { EmitEvent } from '../events/record.js';
import { ConfigError, ConflictError, errorMessage, NotFoundError, NotSupportedError, StateError } from '../util/errors.js';
import { log } from '../util/log.js';
import { VERSION } from '../version.js';
import { Kvm } from '../vm/kvm.js';
import { readBootPayload } from '../vm/payload.js';
import { checkVirtioDeviceFiles } from '../vm/virtio-devices.js';
import type { VcpuExit } from '../vm/vcpu-control.js';
import { Vm } from '../vm/vm.js';

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

export class Vmm {
  private kvm: Kvm | undefined;
  private config: VmConfig | undefined;
  private vm: Vm | undefined;
  private state: VmState = 'Created';
  /** The consoles live as long as the config: across reboots, clients stay attached. */
  private serial: GuestConsole | undefined;
  private console: GuestConsole | undefined;

  constructor(private readonly host: VmmHost) {}

  ping(): VmmPingBody {
    return { build_version: `tsvmm ${VERSION}`, version: VERSION, pid: process.pid, features: ['dbus_api', 'kvm'] };
  }

  /** `body` has passed `acceptBody`: its defaults are filled in. */
  async create(body: VmConfig): Promise<void> {
    if (this.config) throw new StateError('a VM is already created; delete it first', { code: 'VmAlreadyCreated' });
    const config = withDeviceChoices(body);
    validateVmConfig(config);
    readBootPayload(config.payload);
    await checkVirtioDeviceFiles(config);
    await this.openConsoles(config);
    this.config = config;
    this.state = 'Created';
    log.info('VM created');
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
    this.kvm ??= Kvm.open();
    this.adopt(await Vm.create(this.kvm, config, { serial: this.serial, console: this.console, emit: this.host.report }));
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
    await this.destroyVm();
    this.state = 'Shutdown';
    if (exit.kind === 'reset') {
      if (exit.tripleFault) log.error(`the guest triple-faulted (KVM_EXIT_SHUTDOWN) on ${exit.tripleFault}`);
      log.info('guest reset: booting the VM again');
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
    this.host.report('vm', 'restoring');
    try {
      const { config, state, loadMemory } = openSnapshot(body, this.host.report);
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
      this.host.report('vm', 'restore-failed', { message: errorMessage(error) });
      throw error;
    }
    this.host.report('vm', 'restored', { source_url: body.source_url });
    log.info(`VM restored from ${body.source_url}`);
    if (body.resume) this.resume();
  }

  /** Idempotent, as Cloud Hypervisor's: deleting when there is no VM succeeds. */
  async delete(): Promise<void> {
    if (!this.config) return;
    await this.destroyVm();
    await this.closeConsoles();
    this.config = undefined;
    this.state = 'Created';
    this.host.report('vm', 'deleted');
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
    await this.destroyVm();
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

  private requireState(action: string, allowed: VmState[]): void {
    if (!allowed.includes(this.state)) {
      throw new StateError(`cannot ${action} a VM that is ${this.state} (allowed: ${allowed.join(', ')})`);
    }
  }
}
