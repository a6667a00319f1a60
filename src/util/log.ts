// Leveled logging to stderr (or a file), one line per event, safe to call
// from any thread: each line is written with one synchronous write.
import { writeSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSettings {
  level: LogLevel;
  fd: number;
}

let settings: LogSettings = { level: 'warn', fd: 2 };
let threadName = isMainThread ? 'main' : `thread-${threadId}`;

export function configureLog(next: LogSettings): void {
  settings = next;
}

/** Names this thread in its log lines: "vmm", "vcpu0"... */
export function nameLogThread(name: string): void {
  threadName = name;
}

export function logSettings(): LogSettings {
  return settings;
}

/** `-v` given n times: warn, info, debug. */
export function levelFromVerbosity(count: number): LogLevel {
  return LOG_LEVELS[Math.min(1 + count, LOG_LEVELS.length - 1)] ?? 'debug';
}

export function enabled(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(settings.level);
}

function write(level: LogLevel, message: string): void {
  if (!enabled(level)) return;
  const line = `tsvmm: ${new Date().toISOString()} ${level.toUpperCase()} [${threadName}] ${message}\n`;
  try {
    writeSync(settings.fd, line);
  } catch {
    // Logging must never take the VMM down (a closed stderr, a full disk).
  }
}

/**
 * A step of start-up, at debug level, with the milliseconds since the process
 * started (process-wide, whichever thread logs it): `npm run bench` reads
 * these to split exec-to-first-KVM_RUN into its parts.
 */
export function logStartupStep(step: string, atSeconds = process.uptime()): void {
  if (enabled('debug')) write('debug', `start-up: ${step} at ${Math.round(atSeconds * 1000)} ms`);
}

/**
 * When the steps' clock started, as wall-clock milliseconds since the epoch:
 * a process's start is a few milliseconds after its exec, and `npm run bench`
 * adds those to compare with its exec of QEMU.
 */
export function logStartupClock(): void {
  if (!enabled('debug')) return;
  const startedAt = performance.timeOrigin + performance.now() - process.uptime() * 1000;
  write('debug', `start-up: steps are timed from ${startedAt.toFixed(1)} ms since the epoch`);
}

export const log = {
  error: (message: string): void => write('error', message),
  warn: (message: string): void => write('warn', message),
  info: (message: string): void => write('info', message),
  debug: (message: string): void => write('debug', message),
};
