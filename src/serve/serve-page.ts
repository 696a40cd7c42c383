// Programmatic `orthogonium serve`: export a checkpoint to ONNX (raw pixels
// in, normalization in the graph), pick test images from its dataset, build
// the page into a folder and serve it. `stop()` closes the server and
// removes the folder when it was a temporary one.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCheckpoint } from '../train/checkpoint.js';
import { exportOnnx } from '../export/onnx-export.js';
import { classNamesFor } from '../export/class-names.js';
import { buildPage } from './build-page.js';
import { startStaticServer } from './static-server.js';
import { testSamples } from './test-samples.js';

export interface ServePageOptions {
  checkpoint: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Folder for the built page (kept); default a temporary folder removed by stop(). */
  out?: string;
  /** Where the checkpoint's dataset lives (default: the run's dataDir, else the dataset's default folder). */
  dataDir?: string;
}

export interface ServedPage {
  url: string;
  outDir: string;
  inputShape: number[];
  samples: number;
  /** Why no test images are offered, when none are. */
  samplesNote?: string;
  stop(): Promise<void>;
}

function inputShapeOf(checkpoint: string, options: Record<string, unknown> | undefined): number[] {
  const shape = options?.imgShape;
  if (Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0)) return shape as number[];
  throw new Error(`${checkpoint}: the model configuration gives no image input shape (imgShape [C, H, W]), so the page cannot feed it images`);
}

/** The ONNX bytes a page serves: raw pixels in [0, 1] in, normalization inside the graph when the checkpoint has one. */
function exportForPage(checkpoint: string): { onnx: Uint8Array; inputShape: number[]; dataset?: string; classNames?: string[]; dataDir?: string } {
  if (!existsSync(checkpoint)) throw new Error(`${checkpoint}: no such checkpoint file`);
  const { model, config, metadata } = loadCheckpoint(checkpoint);
  try {
    const inputShape = inputShapeOf(checkpoint, config.options);
    const { mean, std } = metadata;
    const normalization = Array.isArray(mean) && Array.isArray(std) ? { mean, std, normalizeInput: true } : {};
    const classNames = classNamesFor(metadata);
    const dataset = typeof metadata.dataset === 'string' ? metadata.dataset : undefined;
    const runConfig = metadata.run_config as { dataDir?: unknown } | undefined;
    const onnx = exportOnnx(model, { inputShape, ...normalization, classNames, metadata: { checkpoint, ...(dataset ? { dataset } : {}) } });
    return { onnx, inputShape, dataset, classNames, dataDir: typeof runConfig?.dataDir === 'string' ? runConfig.dataDir : undefined };
  } finally {
    model.dispose();
  }
}

export async function servePage(o: ServePageOptions): Promise<ServedPage> {
  const exported = exportForPage(o.checkpoint);
  const { samples, note } = testSamples({ dataset: exported.dataset, dataDir: o.dataDir ?? exported.dataDir, inputShape: exported.inputShape, classNames: exported.classNames });
  const temporary = o.out === undefined;
  const outDir = temporary ? mkdtempSync(join(tmpdir(), 'orthogonium-serve-')) : resolve(o.out!);
  const cleanUp = () => { if (temporary) rmSync(outDir, { recursive: true, force: true }); };
  let server;
  try {
    await buildPage({ outDir, onnx: exported.onnx, samples });
    server = await startStaticServer({ root: outDir, host: o.host, port: o.port });
  } catch (error) {
    cleanUp();
    throw error;
  }
  const { url, close } = server;
  let stopped: Promise<void> | null = null;
  return {
    url, outDir, inputShape: exported.inputShape, samples: samples.length, samplesNote: note,
    stop: () => (stopped ??= close().then(cleanUp)),
  };
}
