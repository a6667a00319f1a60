// Typed errors: each class's status and stable code, a code given at the
// throw site, the wrapped cause, and the error body every frontend sends.
import t from 'tap';
import { ErrorBodySchema } from '../../src/api/schema.js';
import {
  ConfigError, ConflictError, ERROR_CODES, errorBodyOf, HostError, NotFoundError, NotSupportedError, PayloadError, StateError,
} from '../../src/util/errors.js';

t.test('each class has its status and default code; a throw site can name a more specific code', async (t) => {
  const cases = [
    [new ConfigError('x'), 400, 'InvalidConfig'],
    [new PayloadError('x'), 400, 'InvalidPayload'],
    [new StateError('x'), 409, 'InvalidState'],
    [new ConflictError('x'), 409, 'DuplicateDeviceId'],
    [new NotFoundError('x'), 404, 'VmNotCreated'],
    [new NotSupportedError('x'), 501, 'NotSupported'],
    [new HostError('x'), 500, 'HostUnavailable'],
    [new ConfigError('x', { code: 'DeviceLimit' }), 400, 'DeviceLimit'],
  ] as const;
  for (const [error, status, code] of cases) t.match(errorBodyOf(error), { status, code, message: 'x', causes: [] }, `${error.name} ${code}`);
});

t.test('a wrapped error is kept as the cause; causes travel in the body', async (t) => {
  const cause = Object.assign(new Error('open failed'), { code: 'ENOENT' });
  const error = new ConfigError('cannot open disk /x: ENOENT', { code: 'HostFileRejected', cause, causes: ['a', 'b'] });
  t.equal(error.cause, cause);
  t.same(errorBodyOf(error), { status: 400, code: 'HostFileRejected', message: 'cannot open disk /x: ENOENT', causes: ['a', 'b'] });
});

t.test('anything that is not a VmmError is a 500 InternalError with its message', async (t) => {
  t.same(errorBodyOf(new RangeError('boom')), { status: 500, code: 'InternalError', message: 'boom', causes: [] });
  t.same(errorBodyOf('text'), { status: 500, code: 'InternalError', message: 'text', causes: [] });
});

t.test('the OpenAPI document lists every code, and only those', async (t) => {
  const documented = (ErrorBodySchema.properties.code.anyOf as Array<{ const: string }>).map((literal) => literal.const);
  t.same(documented, [...ERROR_CODES]);
});
