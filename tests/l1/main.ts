// `node dist/tests/l1/main.js COMMAND...`: runs a shell command inside the L1
// VM in this directory and exits with its status (125 when L1 itself failed,
// with L1's console log named on stderr).
import { runInL1 } from './vm.js';

const command = process.argv.slice(2).join(' ');
if (command === '') {
  process.stderr.write('usage: node dist/tests/l1/main.js COMMAND...\n');
  process.exit(2);
}
const run = await runInL1(command, { onOutput: (chunk) => process.stdout.write(chunk) });
process.stderr.write(`l1: ${run.l1Failure ?? `status ${run.status}`}; first output after ${run.bootMs} ms, ${run.totalMs} ms in all; console log ${run.consoleLogPath}\n`);
process.exit(run.status ?? 125);
