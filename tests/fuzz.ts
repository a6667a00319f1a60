// `npm run fuzz`: the property tests of everything a guest or a client
// controls (split queue, virtio-mmio transport, each device model, the REST
// API), run with many more cases than `npm test` gives them. Prints a table
// of cases, time and the slowest case per property, totals per kind, and
// writes them as JSON. Any broken invariant fails the run with fast-check's
// counterexample and seed. No KVM is needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FuzzKind, FuzzRecord } from './helpers/property.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs');

const PROPERTY_FILES = ['virtqueue', 'virtio-mmio', 'device-property', 'api-property']
  .map((name) => `dist/tests/unit/${name}.test.js`);

/** What the issue asks a fuzz run to reach, per kind. */
const TARGETS: Partial<Record<FuzzKind, number>> = { 'queue/transport': 1_000_000, api: 100_000 };

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '250' },
    out: { type: 'string', default: 'fuzz-results.json' },
  },
});
const scale = Number(values.scale);
if (!(scale > 0)) throw new Error(`--scale: "${values.scale}" is not a positive number`);

const report = join(mkdtempSync(join(tmpdir(), 'tsvmm-fuzz-')), 'report.jsonl');
writeFileSync(report, '');
process.stderr.write(`fuzz: ${PROPERTY_FILES.length} files, ${scale}x the cases of npm test\n`);
const started = performance.now();
const run = spawnSync(process.execPath, [tapBin, '--reporter=terse', '--timeout=0', '--jobs=1', ...PROPERTY_FILES], {
  cwd: root, stdio: 'inherit', env: { ...process.env, TSVMM_FUZZ_SCALE: String(scale), TSVMM_FUZZ_REPORT: report },
});
const seconds = (performance.now() - started) / 1000;

const records = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FuzzRecord);
const totals = new Map<FuzzKind, number>();
for (const record of records) totals.set(record.kind, (totals.get(record.kind) ?? 0) + record.cases);

const rows = [
  ['property', 'kind', 'cases', 's', 'slowest case (ms)'],
  ...records.map((r) => [r.name, r.kind, r.cases.toLocaleString('en'), r.seconds.toFixed(1), r.slowestCaseMs.toFixed(1)]),
];
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
const line = (row: string[]): string => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(rows[0]!));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows.slice(1)) console.log(line(row));
console.log('');
let short = false;
for (const [kind, cases] of totals) {
  const target = TARGETS[kind];
  if (target !== undefined && cases < target) short = true;
  console.log(`${kind}: ${cases.toLocaleString('en')} cases${target === undefined ? '' : ` (target ${target.toLocaleString('en')})`}`);
}
const broken = run.status !== 0;
console.log(`${broken ? 'INVARIANTS BROKEN (see the counterexamples above)' : 'no invariant broken'}; ${seconds.toFixed(0)} s in all`);

writeFileSync(values.out, `${JSON.stringify({ date: new Date().toISOString(), scale, seconds, status: run.status, totals: Object.fromEntries(totals), records }, null, 2)}\n`);
process.exitCode = broken || short ? 1 : 0;
