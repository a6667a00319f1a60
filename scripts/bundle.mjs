// Bundles each entry point of tsvmm into one file under dist/bundle/, so that a
// process (or worker) loads one module instead of about a hundred: start-up
// time is the VMM's first cost, above all where Node runs under emulation
// (tests/l1/README.md). The main bundle starts its workers from the files
// beside it, as the unbundled code does from dist/src/.
//
// `tsvmm` itself is two files: tsvmm.js answers a lone --version or --help and
// otherwise imports tsvmm-main.js, the VMM, which it does not contain.
import { build } from 'esbuild';

/** bin/tsvmm.ts's import of src/cli/main.ts becomes an import of the tsvmm-main.js bundle beside it. */
const mainBesideEntry = {
  name: 'tsvmm-main-beside-entry',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/src\/cli\/main\.js$/ }, (args) => (
      args.importer.endsWith('bin/tsvmm.ts') ? { path: './tsvmm-main.js', external: true } : undefined
    ));
  },
};

await build({
  entryPoints: {
    tsvmm: 'bin/tsvmm.ts',
    'tsvmm-main': 'src/cli/main.ts',
    'tsvmm-remote': 'bin/tsvmm-remote.ts',
    'control-loop': 'src/vmm/control-loop.ts',
    'vcpu-worker': 'src/vm/vcpu-worker.ts',
  },
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [mainBesideEntry],
  // Bundled CommonJS dependencies (undici) call require() for Node's own modules.
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
});
