// Where the API lives on its socket: shared by the server, the OpenAPI
// document and the client, which must not load the server to know it.
export const API_PREFIX = '/api/v1/';
/** The one endpoint that is a stream rather than an action on the control loop. */
export const EVENT_STREAM_ACTION = 'vmm.events';

/** Cloud Hypervisor's (v53.0) endpoints that tsvmm does not have: a 501 that names them, not a 404. */
export const NOT_SUPPORTED_ACTIONS: ReadonlySet<string> = new Set([
  'vm.resize', 'vm.resize-disk', 'vm.resize-zone', 'vm.add-device', 'vm.remove-device', 'vm.add-fs',
  'vm.add-generic-vhost-user', 'vm.add-pmem', 'vm.add-vdpa', 'vm.add-user-device',
  'vm.coredump',
]);
