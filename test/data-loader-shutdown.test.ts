// A process iterating a DataLoader with worker threads must end promptly on
// Ctrl-C (SIGINT, with or without its own handler) and when the loop throws
// (caught or not), whatever batches the workers still have in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const imports = `
  import { DataLoader } from ${JSON.stringify(new URL('../src/data/loader.js', import.meta.url).href)};
  import { arrayImageDataset } from ${JSON.stringify(new URL('../src/data/images.js', import.meta.url).href)};
  import { Cifar10DataModule } from ${JSON.stringify(new URL('../src/data/datamodule.js', import.meta.url).href)};
  const n = 4096;
  const ds = arrayImageDataset(new Uint8Array(n * 3072).map((_, i) => i * 7), new Int32Array(n), [3, 32, 32], []);
  // many epochs of augmented batches: the workers are always busy
  const loader = new DataLoader(ds, { batchSize: 256, shuffle: true, numWorkers: 2, prefetch: 4, transform: Cifar10DataModule.trainTransform() });
`;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; afterSignalMs: number }

/** Runs the script; once it prints 'ready', optionally sends SIGINT; kills it (and reports the hang) after 15 s. */
function run(body: string, sendSigint: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-shutdown-'));
  const file = join(dir, 'script.mjs');
  writeFileSync(file, imports + body);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    let signalledAt = 0;
    const hang = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (sendSigint && signalledAt === 0 && stdout.includes('ready')) { signalledAt = Date.now(); child.kill('SIGINT'); }
    });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code, signal) => {
      clearTimeout(hang);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, afterSignalMs: signalledAt ? Date.now() - signalledAt : 0 });
    });
  });
}

const loop = (inside: string) => `
  let batches = 0;
  for (let epoch = 0; epoch < 1000; epoch++) {
    for await (const { x, y } of loader) {
      x.dispose(); y.dispose();
      if (++batches === 3) console.log('ready');
      ${inside}
    }
  }
`;

test('SIGINT with no handler: the process dies at once, workers and all', async () => {
  const r = await run(loop(''), true);
  assert.equal(r.signal, 'SIGINT', `expected death by SIGINT, got code ${r.code} signal ${r.signal}: ${r.stderr}`);
  assert.ok(r.afterSignalMs < 5000, `${r.afterSignalMs} ms`);
});

test('SIGINT with a handler that stops the loop and closes the loader: a clean, prompt exit', async () => {
  const r = await run(`
    let stop = false;
    process.on('SIGINT', () => { stop = true; });
    try {
      ${loop("if (stop) { console.log('stopping after', batches); break; }").replace('for (let epoch = 0; epoch < 1000; epoch++) {', 'for (let epoch = 0; epoch < 1000 && !stop; epoch++) {')}
    } finally {
      await loader.close();
    }
    console.log('closed');
  `, true);
  assert.equal(r.signal, null, `hung or killed (${r.signal}) ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stopping after \d+\nclosed/);
  assert.ok(r.afterSignalMs < 5000, `${r.afterSignalMs} ms`);
});

test('SIGINT with a handler that stops the loop but never closes the loader: the process still ends', async () => {
  const r = await run(`
    let stop = false;
    process.on('SIGINT', () => { stop = true; });
    ${loop("if (stop) break;").replace('for (let epoch = 0; epoch < 1000; epoch++) {', 'for (let epoch = 0; epoch < 1000 && !stop; epoch++) {')}
    console.log('left the loop');
  `, true);
  assert.equal(r.signal, null, `hung (killed after ${r.afterSignalMs} ms) ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /left the loop/);
  assert.ok(r.afterSignalMs < 5000, `${r.afterSignalMs} ms`);
});

test('an error thrown in the loop: uncaught → exit code 1 with the error; caught without close() → the process ends', async () => {
  const uncaught = await run(loop("if (batches === 5) throw new Error('boom in the training step');"), false);
  assert.equal(uncaught.signal, null, 'hung');
  assert.equal(uncaught.code, 1);
  assert.match(uncaught.stderr, /boom in the training step/);

  const started = Date.now();
  const caught = await run(`
    try {
      ${loop("if (batches === 5) throw new Error('boom');")}
    } catch (error) {
      console.log('caught', error.message);
    }
  `, false);
  assert.equal(caught.signal, null, `hung (killed after ${Date.now() - started} ms)`);
  assert.equal(caught.code, 0, caught.stderr);
  assert.match(caught.stdout, /caught boom/);
});
