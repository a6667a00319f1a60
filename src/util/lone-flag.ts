// A lone --version (-V) or --help (-h), which tsvmm and tsvmm-remote answer
// before they load the rest of their code: scripts call them often, and these
// then cost what `node -e 0` costs.

/** Writes the answer to a lone --version or --help; whether argv was one. */
export function answerLoneFlag(argv: string[], versionLine: string, usage: string): boolean {
  const only = argv.length === 1 ? argv[0] : undefined;
  if (only === '--version' || only === '-V') {
    process.stdout.write(versionLine);
    return true;
  }
  if (only === '--help' || only === '-h') {
    process.stdout.write(usage);
    return true;
  }
  return false;
}
