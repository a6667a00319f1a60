// tsvmm as a library: the typed client for the REST API.
export {
  ApiError, TsvmmClient, type ConsoleConfig, type DiskConfig, type EventRecord, type NetConfig, type VmConfig,
  type VmCounters, type VmInfo, type VmmPingResponse, type VmState,
} from './api/client.js';
