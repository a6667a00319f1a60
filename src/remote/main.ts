// tsvmm-remote's work once bin/tsvmm-remote.ts has loaded it: one API request
// per run, or a stream of events, or an attached console. Resolves to the
// process's exit code; a failure is printed here, not thrown.
import { parseRemoteCommandLine, type RemoteRequest } from './args.js';
import { describeFailure, EXIT_OK, runRemoteCommand, targetOf } from './commands.js';
import { REMOTE_USAGE } from './usage.js';
import { VERSION } from '../version.js';

function fail(error: unknown, target: string): number {
  const { code, message } = describeFailure(error, target);
  process.stderr.write(`tsvmm-remote: ${message}\n`);
  return code;
}

export async function main(argv: string[]): Promise<number> {
  let request: RemoteRequest;
  try {
    request = parseRemoteCommandLine(argv);
  } catch (error) {
    return fail(error, '');
  }
  if (request.kind === 'help') {
    process.stdout.write(REMOTE_USAGE);
    return EXIT_OK;
  }
  if (request.kind === 'version') {
    process.stdout.write(`tsvmm-remote ${VERSION}\n`);
    return EXIT_OK;
  }
  try {
    return await runRemoteCommand(request);
  } catch (error) {
    return fail(error, targetOf(request));
  }
}
