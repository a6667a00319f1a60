// Bundles each entry point of tsvmm into one file under dist/bundle/, so that a
// process (or worker) loads one module instead of about a hundred: start-up
// time is the VMM's first cost, above all where Node runs under emulation
// (tests/l1/README.md). The main bundle starts its workers from the files
// beside it, as the unbundled code does from dist/src/.
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/tsvmm.ts', 'bin/tsvmm-remote.ts', 'src/vmm/control-loop.ts', 'src/vm/vcpu-worker.ts'],
  outdir: 'dist/bundle',
  entryNames: '[name]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS dependencies (undici) call require() for Node's own modules.
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
});
