// Every API action, defined once: its name (the path under /api/v1/), HTTP
// method, body and response schemas, success status, and the handler the
// VMM control loop runs. The HTTP server, the OpenAPI generator and the
// CLI all read this table; adding an endpoint is adding an entry.
import type { TSchema } from '@sinclair/typebox';
import { VmCountersSchema, VmInfoSchema, VmmPingResponseSchema } from '../api/schema.js';
import type {
  DiskConfig, NetConfig, RestoreConfig, VmConfig, VmReceiveMigrationConfig, VmSendMigrationConfig, VmSnapshotConfig, VsockConfig,
} from '../config/schema.js';
import {
  DiskConfigSchema, NetConfigSchema, RestoreConfigSchema, VmConfigSchema, VmReceiveMigrationConfigSchema, VmSendMigrationConfigSchema,
  VmSnapshotConfigSchema, VsockConfigSchema,
} from '../config/schema.js';
import type { Vmm } from './vmm.js';

export interface ActionSpec {
  method: 'GET' | 'PUT';
  summary: string;
  /** The body schema; undefined means the action takes no body. The handler gets the body checked and with its defaults. */
  request?: TSchema;
  /** The response schema for a 200; undefined means 204 without a body. */
  response?: TSchema;
  handler: (vmm: Vmm, body: unknown) => unknown;
  /** The reply waits on someone else (a migration's sender) and may take any time: clients must not time it out. */
  waitsForPeer?: true;
}

function define<const T extends Record<string, ActionSpec>>(actions: T): T {
  return actions;
}

export const ACTIONS = define({
  'vmm.ping': {
    method: 'GET', summary: 'Ping the VMM', response: VmmPingResponseSchema,
    handler: (vmm) => vmm.ping(),
  },
  'vmm.shutdown': {
    method: 'PUT', summary: 'Shut the VM down (if any) and end the VMM process',
    handler: (vmm) => vmm.shutdownVmm(),
  },
  'vm.create': {
    method: 'PUT', summary: 'Create the VM from a configuration; it is not booted', request: VmConfigSchema,
    handler: (vmm, body) => vmm.create(body as VmConfig),
  },
  'vm.boot': { method: 'PUT', summary: 'Boot the created VM', handler: (vmm) => vmm.boot() },
  'vm.shutdown': { method: 'PUT', summary: 'Stop the VM; the VMM stays up', handler: (vmm) => vmm.shutdown() },
  'vm.reboot': { method: 'PUT', summary: 'Reset the VM and boot it again', handler: (vmm) => vmm.reboot() },
  'vm.pause': { method: 'PUT', summary: 'Stop every vCPU', handler: (vmm) => vmm.pause() },
  'vm.resume': { method: 'PUT', summary: 'Restart the vCPUs of a paused VM', handler: (vmm) => vmm.resume() },
  'vm.delete': { method: 'PUT', summary: 'Stop the VM if needed and forget it; succeeds when there is none', handler: (vmm) => vmm.delete() },
  'vm.power-button': {
    method: 'PUT', summary: 'Press the ACPI power button', handler: (vmm) => vmm.powerButton(),
  },
  'vm.nmi': { method: 'PUT', summary: 'Inject an NMI into every vCPU', handler: (vmm) => vmm.nmi() },
  'vm.add-disk': {
    method: 'PUT', summary: 'Add a disk to a VM that is not running (hotplug is not supported yet)',
    request: DiskConfigSchema, handler: (vmm, body) => vmm.addDisk(body as DiskConfig),
  },
  'vm.add-net': {
    method: 'PUT', summary: 'Add a network device to a VM that is not running (hotplug is not supported yet)',
    request: NetConfigSchema, handler: (vmm, body) => vmm.addNet(body as NetConfig),
  },
  'vm.add-vsock': {
    method: 'PUT', summary: 'Add the vsock device to a VM that is not running (one per VM; hotplug is not supported yet)',
    request: VsockConfigSchema, handler: (vmm, body) => vmm.addVsock(body as VsockConfig),
  },
  'vm.snapshot': {
    method: 'PUT', summary: 'Write a snapshot of the paused VM into a directory (file:///DIR)',
    request: VmSnapshotConfigSchema, handler: (vmm, body) => vmm.snapshot(body as VmSnapshotConfig),
  },
  'vm.restore': {
    method: 'PUT', summary: 'Start the VM of a snapshot in this VMM, which must have none; it is Paused unless resume is true',
    request: RestoreConfigSchema, handler: (vmm, body) => vmm.restore(body as RestoreConfig),
  },
  'vm.send-migration': {
    method: 'PUT', summary: 'Start migrating the VM to a tsvmm waiting in vm.receive-migration (unix:/PATH or tcp:HOST:PORT); the outcome comes as events',
    request: VmSendMigrationConfigSchema, handler: (vmm, body) => vmm.sendMigration(body as VmSendMigrationConfig),
  },
  'vm.receive-migration': {
    method: 'PUT', summary: 'Wait for one migration on receiver_url; replies once the VM runs here (this VMM must have no VM)',
    request: VmReceiveMigrationConfigSchema, handler: (vmm, body) => vmm.receiveMigration(body as VmReceiveMigrationConfig),
    waitsForPeer: true,
  },
  'vm.info': {
    method: 'GET', summary: 'The VM configuration and state', response: VmInfoSchema,
    handler: (vmm) => vmm.info(),
  },
  'vm.counters': {
    method: 'GET', summary: 'Counters per device', response: VmCountersSchema,
    handler: (vmm) => vmm.counters(),
  },
});

export type ActionName = keyof typeof ACTIONS;

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name);
}
