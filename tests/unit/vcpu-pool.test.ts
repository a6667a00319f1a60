// vCPU workers started ahead of their VM: they wait for their VcpuInit, take
// the first one sent, and those no VM took are ended.
import t from 'tap';
import type { VcpuInit, VcpuMessage } from '../../src/vm/vcpu-control.js';
import { coolVcpuWorkers, standbyVcpuWorkers, takeVcpuWorker, warmVcpuWorkers } from '../../src/vm/vcpu-pool.js';

/** A vCPU no KVM can set up: vmFd -1, so the worker reports why and ends. */
function impossibleVcpu(vcpuId: number): VcpuInit {
  return {
    vmFd: -1, vcpuId, cpuCount: 1, nested: false, mmapSize: 4096, supportedCpuid: new Uint8Array(8), msrIndexList: [],
    memory: { memoryId: 0, size: 0, regions: [] }, control: new SharedArrayBuffer(16),
    devices: { virtio: [], legacy: [] }, log: { level: 'error', fd: 2 }, exitLoop: 'typescript',
  };
}

function exitOf(vcpuId: number): Promise<VcpuMessage> {
  const worker = takeVcpuWorker(impossibleVcpu(vcpuId));
  return new Promise((resolve) => worker.on('message', (message: VcpuMessage) => { if (message.type === 'exit') resolve(message); }));
}

t.test('warmed workers wait; each taken one runs the vCPU it is sent', async (t) => {
  warmVcpuWorkers(2);
  t.equal(standbyVcpuWorkers(), 2, 'two wait');
  warmVcpuWorkers(1);
  t.equal(standbyVcpuWorkers(), 2, 'warming fewer starts none');
  const exits = await Promise.all([exitOf(0), exitOf(1)]);
  t.equal(standbyVcpuWorkers(), 0, 'both were taken');
  t.same(exits.map((m) => m.type === 'exit' && m.vcpuId), [0, 1], 'each worker reports the vCPU it was sent');
  t.ok(exits.every((m) => m.type === 'exit' && m.exit.kind === 'failure'), 'and, without a VM, why it could not run it');
  const fresh = await exitOf(2);
  t.ok(fresh.type === 'exit' && fresh.vcpuId === 2, 'with none waiting, a worker is started for the vCPU');
});

t.test('workers no VM took are ended', async (t) => {
  warmVcpuWorkers(3);
  await coolVcpuWorkers();
  t.equal(standbyVcpuWorkers(), 0);
});
