// tsvmm-remote run as a user runs it, for the tests: its exit status and
// what it printed, also while it still runs.
import { spawn } from 'node:child_process';
import { nodeCommand, TSVMM_REMOTE } from './tsvmm.js';
import { scaled } from './wait.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs tsvmm-remote; `live` is what it has printed so far. */
export function remote(args: string[], stdin?: string): Promise<Run> & { live: Run } {
  const child = spawn(...nodeCommand(TSVMM_REMOTE, args), { stdio: ['pipe', 'pipe', 'pipe'] });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => { run.stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { run.stderr += chunk.toString(); });
  child.stdin.end(stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    run.code = code;
    resolve(run);
  }));
  return Object.assign(done, { live: run });
}
