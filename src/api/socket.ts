// The API's UNIX socket: created with mode 0600 and guarded by an flock on
// `<path>.lock`, so a second tsvmm on the same path fails with a clear
// message while a socket left by a killed process (whose lock the kernel
// released) is replaced. Closing removes both files.
import { closeSync, existsSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { native } from '../native.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { parsePathOrFd, type PathOrFd } from '../config/option-string.js';

export type ApiSocketSpec = PathOrFd;

/** `--api-socket path=/run/x.sock`, `fd=3`, or a bare path. */
export function parseApiSocket(text: string): ApiSocketSpec {
  return parsePathOrFd('--api-socket', text);
}

export interface ApiSocket {
  readonly description: string;
  close(): Promise<void>;
}

function listen(server: Server, target: string | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting; lets responses in flight finish for up to a second. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

export async function listenApiSocket(server: Server, spec: ApiSocketSpec): Promise<ApiSocket> {
  if ('fd' in spec) {
    await listen(server, { fd: spec.fd });
    return { description: `fd ${spec.fd}`, close: () => closeServer(server) };
  }
  const { path } = spec;
  const lockPath = `${path}.lock`;
  const lockFd = native.lockFile(lockPath);
  if (lockFd < 0) throw new ConfigError(`API socket ${path} is in use by another tsvmm (${lockPath} is locked)`, { code: 'ResourceBusy' });
  if (existsSync(path)) {
    log.info(`replacing stale API socket ${path}`);
    removeQuietly(path);
  }
  const umask = process.umask(0o177);
  try {
    await listen(server, path);
  } catch (error) {
    closeSync(lockFd);
    throw new ConfigError(`cannot listen on ${path}: ${errorMessage(error)}`, { cause: error });
  } finally {
    process.umask(umask);
  }
  return {
    description: path,
    close: async () => {
      removeQuietly(path);
      removeQuietly(lockPath);
      await closeServer(server);
      closeSync(lockFd);
    },
  };
}
