// What the two sides of a migration say to each other, beyond raw frames:
// the hello that opens it and the device state that closes it.
import { VERSION } from '../version.js';

export const MIGRATION_FORMAT = 'tsvmm-migration';
/** Bumped whenever a message changes meaning; a peer of another version is refused at the hello. */
export const MIGRATION_VERSION = 1;

/** The sender's first frame: the VM's config, before any memory. */
export interface Hello {
  format: typeof MIGRATION_FORMAT;
  version: number;
  tsvmm_version: string;
  /** Bytes of guest memory; the receiver maps this much before any memory frame. */
  memory_size: number;
  config: unknown;
}

export function hello(config: { memory: { size: number } }): Hello {
  return { format: MIGRATION_FORMAT, version: MIGRATION_VERSION, tsvmm_version: VERSION, memory_size: config.memory.size, config };
}

/** What is wrong with a hello, or undefined when it can be taken. */
export function helloProblem(value: unknown): string | undefined {
  const head = value as Partial<Hello> | null;
  if (typeof head !== 'object' || head === null || head.format !== MIGRATION_FORMAT) return `it is not a tsvmm migration (format is not "${MIGRATION_FORMAT}")`;
  if (head.version !== MIGRATION_VERSION) return `it speaks migration version ${JSON.stringify(head.version)}; this tsvmm speaks ${MIGRATION_VERSION}`;
  if (!Number.isSafeInteger(head.memory_size) || (head.memory_size as number) <= 0) return 'its memory_size is not a positive integer';
  if (typeof head.config !== 'object' || head.config === null) return 'it has no config';
  return undefined;
}

