// Typed errors. Each carries the HTTP status the API reports for it and a
// stable code, so a frontend maps an error to a response without knowing
// where it came from, and a client (or a test) branches on the code, never
// on the message text.

/** Every code an error reply can carry; the OpenAPI document lists them. */
export const ERROR_CODES = [
  'InvalidConfig', // a flag, option string or body field has a bad value
  'InvalidBody', // the request body is not JSON, not the action's schema, or missing
  'UnsupportedField', // a Cloud Hypervisor field or flag tsvmm does not implement
  'DuplicateDeviceId', // a device id is used twice
  'DeviceLimit', // more devices than a VM can place
  'HostFileRejected', // a file the user named cannot be used (kind, size, permissions)
  'ResourceBusy', // a disk, socket or path is in use by someone else
  'InvalidPayload', // the kernel, initramfs or command line cannot be loaded
  'InvalidSnapshot', // a snapshot that is not tsvmm's, is from another format version, or is corrupt or truncated
  'MigrationFailed', // a migration's connection broke, or its peer refused or sent what it must not
  'VmNotCreated', // the action needs a VM and there is none
  'VmAlreadyCreated', // vm.create while a VM exists
  'InvalidState', // the VM's state forbids the action
  'NotSupported', // a valid request for a feature tsvmm does not have (501)
  'NoSuchEndpoint', // an unknown API path
  'MethodNotAllowed', // a known path with the wrong HTTP method
  'BodyTooLarge', // a request body over the limit
  'ExpectationFailed', // an Expect header tsvmm does not honour
  'HostUnavailable', // the host cannot run the VM: no /dev/kvm, a capability missing
  'InternalError', // anything unforeseen: a bug, reported with its message
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface VmmErrorOptions {
  /** A more specific code than the class's own. */
  code?: ErrorCode;
  /** Further reasons, each a full sentence (every schema mismatch, every refused field). */
  causes?: string[];
  /** The error this one wraps (kept for logs and debuggers, as Error's own `cause`). */
  cause?: unknown;
}

export class VmmError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly causes: string[];

  constructor(status: number, code: ErrorCode, message: string, options: VmmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = options.code ?? code;
    this.causes = options.causes ?? [];
  }
}

/** Bad user input: a flag, an option string, a request body. */
export class ConfigError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(400, 'InvalidConfig', message, options);
  }
}

/** A kernel or initramfs that cannot be loaded. */
export class PayloadError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(400, 'InvalidPayload', message, options);
  }
}

/** A snapshot that is not tsvmm's, of another format version, corrupt, or not for this config or host. */
export class SnapshotError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(400, 'InvalidSnapshot', message, options);
  }
}

/** A migration that did not complete: the source runs on, the destination has no VM (500, as Cloud Hypervisor's). */
export class MigrationError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(500, 'MigrationFailed', message, options);
  }
}

/** The request is valid but the VM's current state forbids it. */
export class StateError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(409, 'InvalidState', message, options);
  }
}

/** The request clashes with what exists (a device id already in use). */
export class ConflictError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(409, 'DuplicateDeviceId', message, options);
  }
}

/** The thing acted on does not exist (no VM created). */
export class NotFoundError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(404, 'VmNotCreated', message, options);
  }
}

/** A valid request for a feature tsvmm does not have yet. */
export class NotSupportedError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(501, 'NotSupported', message, options);
  }
}

/** The host cannot run the VM: /dev/kvm missing, a capability absent. */
export class HostError extends VmmError {
  constructor(message: string, options?: VmmErrorOptions) {
    super(500, 'HostUnavailable', message, options);
  }
}

/** The API's error body for any error (api/schema.ts's ErrorBody): a VmmError keeps its status and code, anything else is a 500. */
export function errorBodyOf(error: unknown): { status: number; code: ErrorCode; message: string; causes: string[] } {
  if (error instanceof VmmError) return { status: error.status, code: error.code, message: error.message, causes: error.causes };
  return { status: 500, code: 'InternalError', message: errorMessage(error), causes: [] };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The errno name of a failed system call (ENOENT, EACCES), or the message when there is none. */
export function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : errorMessage(error);
}
