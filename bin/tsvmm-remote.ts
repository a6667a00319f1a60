#!/usr/bin/env node
// tsvmm-remote: ch-remote for tsvmm; one API request per run, or a stream
// of events, or an attached console.
import { parseRemoteCommandLine } from '../src/remote/args.js';
import { describeFailure, EXIT_OK, runRemoteCommand, targetOf } from '../src/remote/commands.js';
import { REMOTE_USAGE } from '../src/remote/usage.js';
import { VERSION } from '../src/version.js';

async function main(argv: string[]): Promise<number> {
  const request = parseRemoteCommandLine(argv);
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
    const { code, message } = describeFailure(error, targetOf(request));
    process.stderr.write(`tsvmm-remote: ${message}\n`);
    return code;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { code, message } = describeFailure(error, '');
    process.stderr.write(`tsvmm-remote: ${message}\n`);
    process.exit(code);
  },
);
