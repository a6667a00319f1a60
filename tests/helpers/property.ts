// Property-based checks with fast-check, sized for `npm test` and scaled up
// by `npm run fuzz` (TSVMM_FUZZ_SCALE). Each check records its figures
// (cases, time, the slowest case) in TSVMM_FUZZ_REPORT when that is set.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Test } from 'tap';

/** What a property exercises; `npm run fuzz` totals the cases per kind. */
export type FuzzKind = 'queue/transport' | 'device' | 'api';

export interface FuzzRecord {
  name: string;
  kind: FuzzKind;
  cases: number;
  seconds: number;
  slowestCaseMs: number;
}

const scale = Number(process.env.TSVMM_FUZZ_SCALE ?? '1');

/**
 * Runs `predicate` on `baseRuns` (times the fuzz scale) values of `arbitrary`;
 * a false return or an exception fails the test with fast-check's shrunk
 * counterexample and its seed.
 */
export async function checkProperty<T>(
  t: Test, name: string, kind: FuzzKind, baseRuns: number,
  arbitrary: fc.Arbitrary<T>, predicate: (value: T) => boolean | Promise<boolean>,
): Promise<void> {
  const cases = Math.max(1, Math.round(baseRuns * scale));
  let slowest = 0;
  const started = performance.now();
  await fc.assert(fc.asyncProperty(arbitrary, async (value) => {
    const caseStarted = performance.now();
    const result = await predicate(value);
    slowest = Math.max(slowest, performance.now() - caseStarted);
    return result;
  }), { numRuns: cases });
  const record: FuzzRecord = { name, kind, cases, seconds: (performance.now() - started) / 1000, slowestCaseMs: slowest };
  if (process.env.TSVMM_FUZZ_REPORT) appendFileSync(process.env.TSVMM_FUZZ_REPORT, `${JSON.stringify(record)}\n`);
  t.pass(`${name}: ${cases} cases`);
}
