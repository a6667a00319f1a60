// Builds and runs tests/bench/world-switch.c (with the machine's gcc, into
// the cache): what each page a VMM touches between two exits adds to an
// exit, against the same reads with no KVM_RUN between them. It explains
// the exit-cost rows where the world switch is emulated (inside L1).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildCProgram } from '../../guest/c-program.js';
import { WORK_DIVISOR } from './stats.js';

const SOURCE = fileURLToPath(new URL('../../../tests/bench/world-switch.c', import.meta.url));
const FLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];
const EXITS = 50_000 / WORK_DIVISOR;
const ROUNDS = 5;

export interface WorldSwitchRun {
  pages: number;
  us_per_exit: number;
  reads_alone_us: number;
}

/** µs per exit of a C loop touching 0, 64 and 256 pages between exits, and the reads alone. */
export function benchWorldSwitch(): WorldSwitchRun[] {
  const result = spawnSync(buildCProgram('world-switch', SOURCE, FLAGS), [String(EXITS), String(ROUNDS)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`world-switch failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { runs: WorldSwitchRun[] }).runs;
}
