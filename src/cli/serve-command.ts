// `orthogonium serve --checkpoint FILE [--port N] [--host 127.0.0.1] [--out DIR] [--data-dir DIR]`
// Exports the checkpoint to ONNX, builds the certified-inference page and
// serves it until Ctrl-C (SIGINT) or SIGTERM, which stop the server cleanly.
import { parseFlags, UsageError, withUsage } from './args.js';

export const SERVE_USAGE = `orthogonium serve --checkpoint FILE [--port N] [--host 127.0.0.1] [--out DIR] [--data-dir DIR]
  export the checkpoint to ONNX, build the certified-inference web page (onnxruntime-web, WASM)
  and serve it on http://HOST:PORT/ (default 127.0.0.1:8080; --port 0 picks a free port) until Ctrl-C.
  --out DIR keeps the built static site there (default: a temporary folder removed on exit);
  --data-dir DIR is where the checkpoint's dataset is, for the test images the page offers.`;

const FLAGS = {
  '--checkpoint': { key: 'checkpoint', kind: 'string' },
  '--port': { key: 'port', kind: 'non-negative-int' },
  '--host': { key: 'host', kind: 'string' },
  '--out': { key: 'out', kind: 'string' },
  '--data-dir': { key: 'dataDir', kind: 'string' },
} as const;

/** `received` resolves on the first SIGINT or SIGTERM; `stop()` removes the handlers. */
function signals(): { received: Promise<NodeJS.Signals>; stop(): void } {
  let on: (signal: NodeJS.Signals) => void = () => {};
  const stop = () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    on = (signal) => {
      stop();
      resolve(signal);
    };
  });
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { received, stop };
}

export function serveCommand(args: string[], usage: string): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return Promise.resolve(0);
  }
  return withUsage('serve', usage, async () => {
    const a = parseFlags(args, FLAGS) as { checkpoint?: string; port?: number; host?: string; out?: string; dataDir?: string };
    if (!a.checkpoint) throw new UsageError('--checkpoint is required');
    const port = a.port ?? 8080;
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    // Listen for signals before the (slow) build so that an early Ctrl-C is not lost.
    const signal = signals();
    let page;
    try {
      // Loaded only now, so that usage errors do not wait for libtorch to load.
      const { servePage } = await import('../serve/serve-page.js');
      page = await servePage({ checkpoint: a.checkpoint, port, host: a.host ?? '127.0.0.1', out: a.out, dataDir: a.dataDir });
    } catch (error) {
      signal.stop();
      throw error;
    }
    console.log(`built the page in ${page.outDir} (input [${page.inputShape.join(', ')}], ` +
      (page.samples > 0 ? `${page.samples} test images)` : `no test images: ${page.samplesNote})`));
    console.log(`serving at ${page.url}`);
    console.log('press Ctrl-C to stop');
    const received = await signal.received;
    await page.stop();
    console.log(`stopped (${received})`);
    return 0;
  });
}
