// Typed errors. Each carries the HTTP status the API reports for it, so a
// frontend maps an error to a response without knowing where it came from.

export class VmmError extends Error {
  readonly status: number;
  readonly causes: string[];

  constructor(status: number, message: string, causes: string[] = []) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.causes = causes;
  }
}

/** Bad user input: a flag, an option string, a request body. */
export class ConfigError extends VmmError {
  constructor(message: string, causes: string[] = []) {
    super(400, message, causes);
  }
}

/** A kernel or initramfs that cannot be loaded. */
export class PayloadError extends VmmError {
  constructor(message: string, causes: string[] = []) {
    super(400, message, causes);
  }
}

/** The request is valid but the VM's current state forbids it. */
export class StateError extends VmmError {
  constructor(message: string) {
    super(409, message);
  }
}

/** The request clashes with what exists (a device id already in use). */
export class ConflictError extends VmmError {
  constructor(message: string) {
    super(409, message);
  }
}

/** The thing acted on does not exist (no VM created). */
export class NotFoundError extends VmmError {
  constructor(message: string) {
    super(404, message);
  }
}

/** A valid request for a feature tsvmm does not have yet. */
export class NotSupportedError extends VmmError {
  constructor(message: string) {
    super(501, message);
  }
}

/** The host cannot run the VM: /dev/kvm missing, a capability absent. */
export class HostError extends VmmError {
  constructor(message: string, causes: string[] = []) {
    super(500, message, causes);
  }
}

/** The API's error body for any error: a VmmError keeps its status, anything else is a 500. */
export function errorBodyOf(error: unknown): { status: number; message: string; causes: string[] } {
  if (error instanceof VmmError) return { status: error.status, message: error.message, causes: error.causes };
  return { status: 500, message: errorMessage(error), causes: [] };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
