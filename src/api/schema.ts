// The REST API's data shapes, as TypeBox schemas: the one source of truth
// (VmConfig's sections are in src/config/schema.ts).
// Requests are validated against them at runtime; openapi/tsvmm.json and the
// client types in src/api/generated/ are generated from them
// (`npm run generate`). Names and fields follow Cloud Hypervisor's document.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CONFIG_SCHEMAS, refTo, VmConfigSchema } from '../config/schema.js';
import { ERROR_CODES } from '../util/errors.js';

const strict = { additionalProperties: false } as const;

export const VmStateSchema = Type.Union(
  [Type.Literal('Created'), Type.Literal('Running'), Type.Literal('Shutdown'), Type.Literal('Paused')],
  { $id: 'VmState' },
);

export const VmInfoSchema = Type.Object({
  config: refTo(VmConfigSchema),
  state: refTo(VmStateSchema),
  memory_actual_size: Type.Integer({ minimum: 0 }),
}, { ...strict, $id: 'VmInfo', description: 'Virtual machine information' });

export const VmmPingResponseSchema = Type.Object({
  build_version: Type.String(),
  version: Type.String(),
  pid: Type.Integer(),
  features: Type.Array(Type.String()),
}, { ...strict, $id: 'VmmPingResponse', description: 'Virtual machine monitor information' });

export const VmCountersSchema = Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), {
  $id: 'VmCounters', description: 'Counters per device id',
});

export const EventRecordSchema = Type.Object({
  timestamp: Type.Object({
    secs: Type.Integer({ minimum: 0 }),
    nanos: Type.Integer({ minimum: 0, maximum: 999_999_999 }),
  }, { ...strict, description: 'Time since the VMM started' }),
  source: Type.Union((['vmm', 'vm', 'virtio-device', 'guest'] as const).map((source) => Type.Literal(source))),
  event: Type.String({ description: 'vmm: starting, shutdown, error (the last line of a stream that is dropped); vm: booting, booted, pausing, paused, resuming, resumed, rebooting, rebooted, shutdown, deleted; virtio-device: activated, reset; guest: panic' }),
  properties: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
}, { ...strict, $id: 'EventRecord', description: 'One event, as one line of the event-monitor file and of GET /vmm.events' });

export const ErrorBodySchema = Type.Object({
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code)), { description: 'A stable name of the error class; clients branch on it, never on the message' }),
  message: Type.String(),
  causes: Type.Array(Type.String()),
}, { ...strict, $id: 'Error', description: 'Every error response' });

/** Every named schema, in the order the OpenAPI document lists them. */
export const COMPONENT_SCHEMAS: readonly TSchema[] = [
  VmmPingResponseSchema, VmStateSchema, VmInfoSchema, VmCountersSchema, ...CONFIG_SCHEMAS, EventRecordSchema, ErrorBodySchema,
];

export type VmInfoBody = Static<typeof VmInfoSchema>;
export type VmmPingBody = Static<typeof VmmPingResponseSchema>;
export type VmCountersBody = Static<typeof VmCountersSchema>;
export type ErrorBody = Static<typeof ErrorBodySchema>;
export type EventRecordBody = Static<typeof EventRecordSchema>;
