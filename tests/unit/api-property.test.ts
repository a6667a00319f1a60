// Random API traffic against a real tsvmm (no VM is ever booted, so no KVM
// is needed): whatever the method, path, headers and body, every reply is a
// known status whose body matches the OpenAPI document (errors:
// {status, code, message, causes} with the HTTP status), and the VMM keeps serving.
import fc from 'fast-check';
import t from 'tap';
import { NOT_SUPPORTED_ACTIONS } from '../../src/api/paths.js';
import { ACTIONS } from '../../src/vmm/actions.js';
import { ApiVmm } from '../helpers/api.js';
import { checkProperty } from '../helpers/property.js';

const ACTION_NAMES = Object.keys(ACTIONS).filter((name) => name !== 'vmm.shutdown');
const KNOWN_STATUSES = new Set([200, 204, 400, 404, 405, 409, 413, 415, 417, 500, 501]);

const pathArb = fc.oneof(
  fc.constantFrom(...ACTION_NAMES, ...NOT_SUPPORTED_ACTIONS, 'vm.', '', '../vmm.ping', 'vm.info?x=1', 'vm.create/', '%2e%2e'),
  fc.string({ maxLength: 20 }).map((text) => encodeURIComponent(text)),
);
const configish = fc.record({
  payload: fc.oneof(fc.record({ kernel: fc.string({ maxLength: 10 }) }), fc.jsonValue()),
  cpus: fc.option(fc.record({ boot_vcpus: fc.integer({ min: -2, max: 300 }), max_vcpus: fc.integer({ min: -2, max: 300 }) })),
  disks: fc.option(fc.array(fc.dictionary(fc.constantFrom('path', 'num_queues', 'id', 'readonly', 'x'), fc.jsonValue()), { maxLength: 3 })),
  serial: fc.option(fc.record({ mode: fc.constantFrom('Off', 'Null', 'Tty', 'File', 'Bogus'), file: fc.option(fc.string()) })),
}, { requiredKeys: [] });
const bodyArb = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  configish.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 40 }),
);
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH'),
  path: pathArb,
  body: bodyArb,
  contentType: fc.constantFrom(undefined, 'application/json', 'text/plain'),
});

t.test('property: any request gets a known status and a body that matches the document', async (t) => {
  const vmm = await ApiVmm.start();
  t.teardown(() => vmm.stop());
  const broken: string[] = [];
  await checkProperty(t, 'API: random requests', 'api', 400, requestArb, async ({ method, path, body, contentType }) => {
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const response = await vmm.call(method, path, method === 'GET' ? undefined : body, headers);
    const error = response.body as { status?: unknown } | undefined;
    const ok = KNOWN_STATUSES.has(response.status) && response.schemaErrors.length === 0
      && (response.status < 400 || error?.status === response.status);
    if (!ok) broken.push(`${method} ${path} ${String(body).slice(0, 60)} -> ${response.status} ${JSON.stringify(response.body)}`);
    return ok;
  });
  t.same(broken, []);
  t.equal((await vmm.call('GET', 'vmm.ping')).status, 200, 'the VMM still serves');
});
