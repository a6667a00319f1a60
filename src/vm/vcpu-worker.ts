// Entry point of a vCPU worker thread. It builds this thread's view of the
// devices over their shared state, sets up its vCPU, waits for the VMM's
// go, runs, and reports why it stopped.
import { parentPort, workerData } from 'node:worker_threads';
import { COM1_IRQ, COM1_PORT, I8042_DATA_PORT } from '../arch/x86_64/layout.js';
import { Bus } from '../devices/bus.js';
import { DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, DebugExit } from '../devices/debug-exit.js';
import { ACPI_PM_PORT, ACPI_PM_PORT_COUNT, AcpiPowerManagement } from '../devices/acpi-pm.js';
import { S5_SLEEP_TYPE } from '../arch/x86_64/acpi/dsdt.js';
import { I8042, I8042_PORT_COUNT } from '../devices/i8042.js';
import { PVPANIC_PORT, PVPANIC_PORT_COUNT, PvPanic } from '../devices/pvpanic.js';
import { Serial16550, SERIAL_PORT_COUNT } from '../devices/serial.js';
import { native } from '../native.js';
import { MMIO_SIZE, VirtioMmioTransport } from '../virtio/mmio.js';
import { checkQueueLayout } from '../virtio/queue.js';
import { errorMessage } from '../util/errors.js';
import { configureLog, log, nameLogThread } from '../util/log.js';
import { writeAllSync } from '../util/write-all.js';
import { GuestMemory } from './memory.js';
import { Vcpu, type VcpuBuses } from './vcpu.js';
import { Control, VcpuCommand, type VcpuExit, type VcpuInit, type VcpuMessage } from './vcpu-control.js';

const init = workerData as VcpuInit;
configureLog(init.log);
nameLogThread(`vcpu${init.vcpuId}`);

function post(message: VcpuMessage): void {
  parentPort?.postMessage(message);
}

/** This thread's view of each virtio device's register file. */
function virtioTransports(memory: GuestMemory): Array<[number, VirtioMmioTransport]> {
  return init.devices.virtio.map((slot, index) => [slot.base, new VirtioMmioTransport(slot.state, slot, {
    activate: (queues, features) => post({ type: 'virtio', slot: index, event: { type: 'activate', queues, features } }),
    reset: () => post({ type: 'virtio', slot: index, event: { type: 'reset' } }),
    // Notifications go to the ioeventfd; a write that reaches here names no queue of this device.
    notify: () => {},
    interrupt: (level) => { if (level) native.writeEventFd(slot.irqFd); },
    writeConfig: () => {},
    validateQueue: (layout) => checkQueueLayout(memory, layout),
  })]);
}

function buildBuses(memory: GuestMemory, end: (exit: VcpuExit) => void): VcpuBuses {
  const mmio = new Bus('mmio');
  for (const [base, transport] of virtioTransports(memory)) mmio.register(base, MMIO_SIZE, transport);
  const pio = new Bus('pio');
  const { devices, vmFd } = init;
  if (devices.serial) {
    const fd = devices.serialOutputFd;
    const output = fd === undefined ? () => {} : (byte: number) => writeAllSync(fd, Uint8Array.of(byte));
    const serial = new Serial16550(devices.serial, output, (level) => native.irqLine(vmFd, COM1_IRQ, level));
    pio.register(COM1_PORT, SERIAL_PORT_COUNT, serial);
  }
  const i8042 = new I8042(devices.i8042, {
    reset: () => end({ kind: 'reset' }),
    interrupt: (irq) => {
      native.irqLine(vmFd, irq, 1);
      native.irqLine(vmFd, irq, 0);
    },
  });
  pio.register(I8042_DATA_PORT, I8042_PORT_COUNT, i8042);
  pio.register(DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_COUNT, new DebugExit(end));
  if (devices.pvpanic) {
    pio.register(PVPANIC_PORT, PVPANIC_PORT_COUNT, new PvPanic((events) => post({ type: 'panic', vcpuId: init.vcpuId, events })));
  }
  pio.register(ACPI_PM_PORT, ACPI_PM_PORT_COUNT, new AcpiPowerManagement(S5_SLEEP_TYPE, end));
  return { pio, mmio };
}

function main(): VcpuExit {
  const memory = GuestMemory.attach(init.memory);
  let vcpu: Vcpu | undefined;
  const buses = buildBuses(memory, (exit) => vcpu?.requestExit(exit));
  vcpu = new Vcpu(init, buses, memory);
  try {
    vcpu.configure();
    const control = new Int32Array(init.control);
    post({ type: 'ready', vcpuId: init.vcpuId, handle: vcpu.attachThread() });
    while (Atomics.load(control, Control.Command) === VcpuCommand.Wait) {
      Atomics.wait(control, Control.Command, VcpuCommand.Wait);
    }
    log.debug(`vcpu${init.vcpuId}: entering the guest ${Math.round(process.uptime() * 1000)} ms after tsvmm started`);
    return init.exitLoop === 'c' ? vcpu.runLoopInC(control) : vcpu.runLoop(control);
  } finally {
    vcpu.detachThread();
    native.close(vcpu.fd);
  }
}

let exit: VcpuExit;
try {
  exit = main();
} catch (error) {
  exit = { kind: 'failure', message: `vcpu${init.vcpuId}: ${errorMessage(error)}` };
}
post({ type: 'exit', vcpuId: init.vcpuId, exit });
