// tsvmm as a library: typed clients for the REST API and the D-Bus API.
export {
  ApiError, TsvmmClient, VmmClient, VmmUnreachableError, type ConsoleConfig, type DiskConfig, type EventRecord, type NetConfig,
  type VmConfig, type VmCounters, type VmInfo, type VmmPingResponse, type VmState,
} from './api/client.js';
export { DbusVmmClient, type DbusTarget } from './dbus/client.js';
