// Builds the static certified-inference page into a folder: the ONNX model,
// the page (web/index.html, web/style.css) and its script bundled by esbuild
// from web/src/main.ts with the test images embedded, and onnxruntime-web's
// single-threaded WASM runtime copied from node_modules so that nothing is
// fetched from the network at runtime.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { PageSample } from './page-sample.js';

/** The virtual module web/src/main.ts imports its embedded samples from. */
export const SAMPLES_MODULE = 'page-data:samples';

/** onnxruntime-web's WASM runtime files, served under ort/. */
const ORT_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

export interface BuildPageOptions {
  outDir: string;
  onnx: Uint8Array;
  samples: PageSample[];
}

export interface BuiltPage {
  outDir: string;
  files: string[];
}

/** The package folder holding web/ (walking up from this file: src/serve or dist/src/serve). */
export function webRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'web', 'index.html')) && existsSync(join(dir, 'package.json'))) return join(dir, 'web');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the web/ folder of orthogonium-ts (web/index.html) above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

type Esbuild = typeof import('esbuild');

async function loadEsbuild(): Promise<Esbuild> {
  try {
    return await import('esbuild');
  } catch (error) {
    throw new Error(`building the page needs esbuild (a dev dependency of orthogonium-ts): install it with npm install --save-dev esbuild (${(error as Error).message})`);
  }
}

function ortFile(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`onnxruntime-web/${name}`);
  } catch (error) {
    throw new Error(`the page needs onnxruntime-web's ${name} (a dev dependency of orthogonium-ts): install it with npm install --save-dev onnxruntime-web (${(error as Error).message})`);
  }
}

export async function buildPage(o: BuildPageOptions): Promise<BuiltPage> {
  const web = webRoot();
  const esbuild = await loadEsbuild();
  const ortPaths = ORT_FILES.map(ortFile);
  mkdirSync(join(o.outDir, 'ort'), { recursive: true });

  const result = await esbuild.build({
    entryPoints: [join(web, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    write: false,
    outfile: join(o.outDir, 'app.js'),
    logLevel: 'silent',
    plugins: [{
      name: 'page-data',
      setup(build) {
        build.onResolve({ filter: /^page-data:samples$/ }, (args) => ({ path: args.path, namespace: 'page-data' }));
        build.onLoad({ filter: /.*/, namespace: 'page-data' }, () => ({ contents: JSON.stringify(o.samples), loader: 'json' }));
      },
    }],
  }).catch((error: Error) => {
    throw new Error(`building the page's script failed: ${error.message}`);
  });

  const files: string[] = [];
  const write = (name: string, bytes: Uint8Array) => {
    writeFileAtomic(join(o.outDir, name), bytes);
    files.push(name);
  };
  for (const out of result.outputFiles) write(out.path.slice(o.outDir.length + 1), out.contents);
  write('model.onnx', o.onnx);
  for (const name of ['index.html', 'style.css']) write(name, readFileSync(join(web, name)));
  ORT_FILES.forEach((name, i) => {
    // Copied to a temporary name, then renamed (atomic within one folder), like every other file written here.
    const target = join(o.outDir, 'ort', name);
    const temp = join(o.outDir, 'ort', `.${name}.${process.pid}.tmp`);
    copyFileSync(ortPaths[i], temp);
    renameSync(temp, target);
    files.push(`ort/${name}`);
  });
  return { outDir: o.outDir, files: files.sort() };
}
