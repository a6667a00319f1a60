// Where the API lives on its socket: shared by the server, the OpenAPI
// document and the client, which must not load the server to know it.
export const API_PREFIX = '/api/v1/';
/** The one endpoint that is a stream rather than an action on the control loop. */
export const EVENT_STREAM_ACTION = 'vmm.events';
