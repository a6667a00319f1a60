// Starts `tsvmm --api-socket` for tests and talks to it with undici, checking
// every response body against the API's schemas.
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { Client } from 'undici';
import { TsvmmClient } from '../../src/api/client.js';
import { COMPONENT_SCHEMAS, ErrorBodySchema } from '../../src/api/schema.js';
import type { ErrorCode } from '../../src/util/errors.js';
import { ACTIONS, isActionName } from '../../src/vmm/actions.js';
import { nodeCommand, TSVMM, withSerialOnStdout } from './tsvmm.js';
import { scaled } from './wait.js';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Why the body does not match the schema the document gives for it; empty when it does. */
  schemaErrors: string[];
}

const checks = new Map<string, ReturnType<typeof TypeCompiler.Compile>>();
function check(schema: TSchema, value: unknown): string[] {
  const id = schema.$id as string;
  let compiled = checks.get(id);
  if (!compiled) {
    compiled = TypeCompiler.Compile(schema, [...COMPONENT_SCHEMAS]);
    checks.set(id, compiled);
  }
  return compiled.Check(value) ? [] : [...compiled.Errors(value)].map((e) => `${e.path}: ${e.message}`);
}

/** The schema the OpenAPI document promises for this path and status. */
function expectedSchema(path: string, status: number): TSchema | null | undefined {
  const name = path.replace('/api/v1/', '');
  if (status >= 400) return ErrorBodySchema;
  if (!isActionName(name)) return undefined;
  const response = (ACTIONS[name] as { response?: TSchema }).response;
  return response ?? null;
}

/** Until a connection succeeds: a stale socket file may exist before the server does. */
async function waitForSocket(socketPath: string): Promise<void> {
  const deadline = Date.now() + scaled(10_000);
  while (Date.now() < deadline) {
    if (existsSync(socketPath)) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect(socketPath, () => { socket.end(); resolve(true); });
        socket.on('error', () => resolve(false));
      });
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A REST client of a tsvmm already serving on `socketPath`. */
export class ApiClient {
  readonly client: Client;

  constructor(readonly socketPath: string) {
    this.client = new Client('http://localhost', { socketPath, pipelining: 16 });
  }

  close(): Promise<void> {
    return this.client.close();
  }

  async call(method: string, action: string, body?: string | object, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const path = `/api/v1/${action}`;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await this.client.request({ method: method as 'GET', path, body: payload, headers });
    const text = await response.body.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    const schema = expectedSchema(path, response.statusCode);
    let schemaErrors: string[] = [];
    if (schema === null && text !== '') schemaErrors = ['a 204-style action returned a body'];
    else if (schema) schemaErrors = check(schema, parsed);
    return { status: response.statusCode, headers: response.headers, body: parsed, schemaErrors };
  }

}

/** `tsvmm --api-socket` started for a test, with a REST client. */
export class ApiVmm extends ApiClient {
  private constructor(socketPath: string, readonly child: ChildProcess, readonly output: { stderr: string }) {
    super(socketPath);
  }

  static async start(args: string[] = [], path?: string): Promise<ApiVmm> {
    const socketPath = path ?? join(mkdtempSync(join(tmpdir(), 'tsvmm-api-')), 'api.sock');
    const child = spawn(...nodeCommand(TSVMM, ['--api-socket', `path=${socketPath}`, ...withSerialOnStdout(args)]), {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const output = { stderr: '' };
    child.stderr?.on('data', (chunk: Buffer) => { output.stderr += chunk.toString(); });
    await waitForSocket(socketPath);
    return new ApiVmm(socketPath, child, output);
  }

  async stop(): Promise<number | null> {
    await this.call('PUT', 'vmm.shutdown').catch(() => undefined);
    await this.client.close().catch(() => undefined);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

/** The status, and a body that matches the OpenAPI document. */
export function expectOk(t: Test, response: ApiResponse, status: number, what: string): void {
  t.equal(response.status, status, `${what}: status ${status} (${JSON.stringify(response.body)})`);
  t.same(response.schemaErrors, [], `${what}: body matches the document`);
}

/** An error reply: its status, its stable code, and a body that matches the OpenAPI document. */
export function expectError(t: Test, response: ApiResponse, status: number, code: ErrorCode, what: string): void {
  expectOk(t, response, status, what);
  t.match(response.body, { status, code }, `${what}: ${code}`);
}

/** A VMM and the project's client on it, both ended when `t` ends. */
export async function startClientVmm(t: Test): Promise<{ vmm: ApiVmm; client: TsvmmClient }> {
  const vmm = await ApiVmm.start();
  const client = new TsvmmClient(vmm.socketPath);
  t.teardown(async () => {
    // A test may have closed the client already.
    await client.close().catch(() => undefined);
    await vmm.stop();
  });
  return { vmm, client };
}
