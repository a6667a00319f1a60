// The REST API over HTTP/1.1: parses and forwards. Each request
// on /api/v1/<action> becomes one message to the VMM control loop; the
// reply becomes the response. Errors are JSON {status, code, message, causes}.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import { ConfigError, errorBodyOf, errorMessage, VmmError } from '../util/errors.js';
import { log } from '../util/log.js';
import { ACTIONS, isActionName } from '../vmm/actions.js';
import type { VmmHandle } from '../vmm/handle.js';
import { streamEvents } from './event-stream.js';
import { API_PREFIX, EVENT_STREAM_ACTION, NOT_SUPPORTED_ACTIONS } from './paths.js';
import type { ErrorBody } from './schema.js';

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends VmmError {}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: ErrorBody, headers: Record<string, string> = {}): void {
  sendJson(response, error.status, { status: error.status, code: error.code, message: error.message, causes: error.causes }, headers);
}

/** Reads the body up to the limit; a larger one is a 413 (and the rest is drained). */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'BodyTooLarge', `request body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) throw new HttpError(413, 'BodyTooLarge', `request body over ${MAX_BODY_BYTES} bytes`);
  return Buffer.concat(chunks);
}

/** The JSON body, or undefined when there is none; the control loop checks it against the action's schema. Shared with the D-Bus frontend. */
export function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`malformed JSON: ${errorMessage(error)}`, { code: 'InvalidBody', cause: error });
  }
}

async function route(vmm: VmmHandle, request: IncomingMessage, response: ServerResponse): Promise<number> {
  const path = (request.url ?? '').split('?')[0] ?? '';
  const name = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : '';
  if (name === EVENT_STREAM_ACTION) return routeEventStream(vmm, request, response);
  if (NOT_SUPPORTED_ACTIONS.has(name)) {
    request.resume();
    throw new HttpError(501, 'NotSupported', `${name} is not supported by tsvmm`);
  }
  if (!isActionName(name)) throw new HttpError(404, 'NoSuchEndpoint', `no endpoint ${path}`);
  const spec = ACTIONS[name];
  if (request.method !== spec.method) return refuseMethod(request, response, spec.method);
  const body = parseBody((await readBody(request)).toString('utf8'));
  const result = await vmm.request(name, body);
  if ((spec as { response?: TSchema }).response) {
    sendJson(response, 200, result);
    return 200;
  }
  response.writeHead(204).end();
  return 204;
}

function refuseMethod(request: IncomingMessage, response: ServerResponse, allowed: string): number {
  request.resume();
  sendError(response, { status: 405, code: 'MethodNotAllowed', message: `${request.url ?? ''} takes ${allowed}, not ${request.method ?? ''}`, causes: [] },
    { Allow: allowed });
  return 405;
}

function routeEventStream(vmm: VmmHandle, request: IncomingMessage, response: ServerResponse): number {
  if (request.method !== 'GET') return refuseMethod(request, response, 'GET');
  streamEvents(vmm.events, request, response);
  return 200;
}

export function createApiServer(vmm: VmmHandle): Server {
  const server = createServer((request, response) => {
    const started = process.hrtime.bigint();
    route(vmm, request, response).then(
      (status) => logRequest(request, status, started),
      (error: unknown) => {
        const body = errorBodyOf(error);
        if (!response.headersSent) sendError(response, body, body.status === 413 ? { Connection: 'close' } : {});
        logRequest(request, body.status, started);
      },
    );
  });
  // A client that half-closes after its request (`nc -N`, a shell's here-string) still gets the
  // reply. Node's http server reads this field; @types/node does not declare it.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    sendError(response, { status: 417, code: 'ExpectationFailed', message: `Expect: ${request.headers.expect ?? ''} is not supported (only 100-continue)`, causes: [] });
    logRequest(request, 417, process.hrtime.bigint());
  });
  return server;
}

function logRequest(request: IncomingMessage, status: number, started: bigint): void {
  const micros = Number(process.hrtime.bigint() - started) / 1000;
  log.info(`api: ${request.method} ${request.url} ${status} ${micros.toFixed(0)}us`);
}
