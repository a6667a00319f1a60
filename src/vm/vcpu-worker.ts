// Entry point of a vCPU worker thread. It waits for its vCPU (a VcpuInit, the
// first message: workers start before the VM is built, src/vm/vcpu-pool.ts),
// builds this thread's view of the devices over their shared state, sets up
// its vCPU, waits for the VMM's go, runs, and reports why it stopped.
import { parentPort } from 'node:worker_threads';
import { Bus } from '../devices/bus.js';
import { attachLegacyDevices } from '../devices/legacy.js';
import { native } from '../native.js';
import { MMIO_SIZE, VirtioMmioRegisters } from '../virtio/mmio.js';
import { checkQueueLayout } from '../virtio/queue.js';
import { errorMessage } from '../util/errors.js';
import { configureLog, logStartupStep, nameLogThread } from '../util/log.js';
import { writeAllSync } from '../util/write-all.js';
import { BusUnit } from './exit-dispatch.js';
import { GuestMemory } from './memory.js';
import { Vcpu, type VcpuBuses } from './vcpu.js';
import { Control, VcpuCommand, type VcpuExit, type VcpuInit, type VcpuMessage } from './vcpu-control.js';

function post(message: VcpuMessage): void {
  parentPort?.postMessage(message);
}

/** This thread's view of each virtio device's register file. */
function virtioRegisterFiles(init: VcpuInit, memory: GuestMemory): Array<[number, VirtioMmioRegisters]> {
  return init.devices.virtio.map((slot, index) => [slot.base, new VirtioMmioRegisters(slot.state, slot, () => native.writeEventFd(slot.irqFd), {
    activate: (queues, features) => post({ type: 'virtio', slot: index, event: { type: 'activate', queues, features } }),
    reset: () => post({ type: 'virtio', slot: index, event: { type: 'reset' } }),
    validateQueue: (layout) => checkQueueLayout(memory, layout),
  })]);
}

function buildBuses(init: VcpuInit, memory: GuestMemory, end: (exit: VcpuExit) => void): VcpuBuses {
  const mmio = new Bus('mmio', BusUnit.Mmio);
  for (const [base, registers] of virtioRegisterFiles(init, memory)) mmio.register(base, MMIO_SIZE, registers);
  const pio = new Bus('pio', BusUnit.Pio);
  const { devices, vmFd } = init;
  const serialFd = devices.serialOutputFd;
  attachLegacyDevices(pio, devices.legacy, {
    setIrq: (irq, level) => native.irqLine(vmFd, irq, level),
    end,
    report: (event, properties) => post({ type: 'guest-event', vcpuId: init.vcpuId, event, properties }),
    serialOutput: serialFd === undefined ? () => {} : (byte) => writeAllSync(serialFd, Uint8Array.of(byte)),
  });
  return { pio, mmio };
}

function main(init: VcpuInit): VcpuExit {
  const memory = GuestMemory.attach(init.memory);
  let vcpu: Vcpu | undefined;
  const buses = buildBuses(init, memory, (exit) => vcpu?.requestExit(exit));
  vcpu = new Vcpu(init, buses, memory);
  try {
    vcpu.configure();
    const control = new Int32Array(init.control);
    post({ type: 'ready', vcpuId: init.vcpuId, handle: vcpu.attachThread(), fd: vcpu.fd });
    while (Atomics.load(control, Control.Command) === VcpuCommand.Wait) {
      Atomics.wait(control, Control.Command, VcpuCommand.Wait);
    }
    logStartupStep(`vcpu${init.vcpuId} enters the guest`);
    return init.exitLoop === 'c' ? vcpu.runLoopInC(control) : vcpu.runLoop(control);
  } finally {
    vcpu.detachThread();
    native.close(vcpu.fd);
  }
}

function run(init: VcpuInit, modulesLoadedAt: number): void {
  configureLog(init.log);
  nameLogThread(`vcpu${init.vcpuId}`);
  logStartupStep(`vcpu${init.vcpuId}'s worker loaded (it then waited for its vCPU)`, modulesLoadedAt);
  let exit: VcpuExit;
  try {
    exit = main(init);
  } catch (error) {
    exit = { kind: 'failure', message: `vcpu${init.vcpuId}: ${errorMessage(error)}` };
  }
  post({ type: 'exit', vcpuId: init.vcpuId, exit });
}

const modulesLoadedAt = process.uptime();
parentPort?.once('message', (init: VcpuInit) => run(init, modulesLoadedAt));
post({ type: 'loaded' });
