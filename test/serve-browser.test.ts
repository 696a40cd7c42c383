// `orthogonium serve` end to end in headless Chromium: a small 1-Lipschitz
// model trained for a few steps on a Fashion-MNIST slice is served; the page
// (onnxruntime-web, WASM) must show, for an embedded test image and for the
// same image uploaded as a PNG, the class and certified radius that
// certificates() computes in Node, and noise of a norm below the radius must
// leave the shown prediction unchanged. A screenshot is kept in
// test-artifacts/serve-browser.png. Skipped when Debian's chromium or the
// dataset is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { FactoryModel, MODEL_PRESETS, buildModel } from '../src/models/index.js';
import { LossXent, certificates } from '../src/losses/index.js';
import { Adam } from '../src/optim/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const MEAN = 0.286;
const STD = 0.353;

const skip = !existsSync(CHROMIUM) ? `Debian chromium is not installed at ${CHROMIUM} (apt-get install chromium)`
  : !existsSync(DEBIAN_FASHION_MNIST_DIR) ? 'dataset-fashion-mnist is not installed' : false;

/** A narrow fmnist-small (16 channels, one block) after a few Adam steps on 1,024 training images, so that margins are not tiny. */
function trainSmallModel() {
  torch.manualSeed(0);
  const base = MODEL_PRESETS['fmnist-small'];
  const pool = { type: 'AdaptiveOrthoConv2d', options: { inChannels: 16, outChannels: 16, groups: 8, bias: false, padding: 0, kernelSize: 14, stride: 14 } };
  const model = buildModel({ ...base, options: { ...base.options, dim: 16, depth: 1, pool } });
  const loss = new LossXent({ nClasses: 10, offset: 1, temperature: 0.25 });
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  torch.scope(() => {
    const { images, labels } = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, true);
    const x = images.narrow(0, 0, 1024).float().div(255).sub(MEAN).div(STD);
    const y = labels.narrow(0, 0, 1024);
    model.train();
    for (let step = 0; step < 10; step++) {
      torch.scope(() => {
        optimizer.zeroGrad();
        loss.forward(model.forward(x.narrow(0, (step % 8) * 128, 128)) as torch.Tensor, y.narrow(0, (step % 8) * 128, 128)).backward();
        optimizer.step();
      });
    }
  });
  model.eval();
  return model;
}

/** Starts `orthogonium serve` and resolves with its URL once it prints it. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = /serving at (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1], output: () => out }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code} before serving:\n${out}`)); });
  });
}

test('orthogonium serve: the page shows the Node-side class and radius, and noise below the radius leaves the prediction unchanged', { skip, timeout: 120_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'ortho-serve-browser-'));
  let server: Awaited<ReturnType<typeof startServe>> | null = null;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
  let model: FactoryModel | null = null;
  try {
    const trained = trainSmallModel();
    const checkpoint = join(dir, 'model.ckpt');
    saveCheckpoint(checkpoint, trained, { mean: [MEAN], std: [STD], dataset: 'fashion-mnist' });
    trained.dispose();

    // Node side: the first test image of each class, and each one's predicted class and certified radius.
    const loaded = loadCheckpoint(checkpoint).model;
    model = loaded;
    const { images, labels } = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, false);
    const labelList = labels.toFlatArray();
    const firstOfClass = [...Array(10).keys()].map((c) => labelList.indexOf(c));
    const expected = torch.scope(() => torch.noGrad(() => {
      const x = images.indexSelect(0, torch.tensor(firstOfClass, { dtype: 'int64' })).float().div(255).sub(MEAN).div(STD);
      const logits = loaded.forward(x) as torch.Tensor;
      const predicted = logits.argmax(1);
      const radii = certificates(logits, predicted, { lastLayer: 'global', lipschitz: 1 / STD });
      return firstOfClass.map((index, c) => ({ index, label: c, predicted: predicted.toFlatArray()[c], radius: radii.toFlatArray()[c] }));
    }));
    images.dispose();
    labels.dispose();
    /** Node's class and radius for an image given as uint8 pixels. */
    const nodeCertificate = (bytes: number[]) => torch.scope(() => torch.noGrad(() => {
      const x = torch.tensor(bytes).view([1, 1, 28, 28]).div(255).sub(MEAN).div(STD);
      const logits = loaded.forward(x) as torch.Tensor;
      const predicted = logits.argmax(1);
      return { predicted: predicted.item(), radius: certificates(logits, predicted, { lastLayer: 'global', lipschitz: 1 / STD }).item() };
    }));
    // The most robust of them makes the noise check meaningful.
    const chosen = expected.reduce((a, b) => (b.radius > a.radius ? b : a));
    assert.ok(chosen.radius > 0.05, `the trained model certifies some test image (largest radius ${chosen.radius})`);

    server = await startServe(['--checkpoint', checkpoint, '--port', '0', '--out', join(dir, 'site')]);
    assert.match(server.output(), /10 test images/);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-ready'), 'true', `page failed to start: ${await page.textContent('#status')}`);
    assert.match((await page.textContent('#model-info'))!, /L = 2\.8329/);

    // The page offers exactly the first test image of each class.
    const offered = await page.$$eval('#samples button', (bs) => bs.map((b) => Number(b.getAttribute('data-index'))));
    assert.deepEqual(offered, firstOfClass);

    const readShown = async () => ({
      predicted: Number(await page.getAttribute('#prediction', 'data-class')),
      radius: Number(await page.getAttribute('#radius', 'data-radius')),
      margin: Number(await page.getAttribute('#margin', 'data-margin')),
      text: `${await page.textContent('#prediction')} | ${await page.textContent('#radius')}`,
    });
    await page.click(`#samples button[data-index="${chosen.index}"]`);
    await page.waitForSelector(`body[data-input="sample:${chosen.index}"]`);
    const shown = await readShown();
    assert.equal(shown.predicted, chosen.predicted, shown.text);
    assert.ok(Math.abs(shown.radius - chosen.radius) <= 1e-4, `radius shown ${shown.radius} vs Node ${chosen.radius}`);
    assert.ok(Math.abs(shown.margin - chosen.radius * Math.SQRT2 / STD) <= 1e-4, `margin shown ${shown.margin}`);
    assert.match((await page.textContent('#true-label'))!, chosen.predicted === chosen.label ? /\(correct\)/ : /misclassified/);
    assert.ok(shown.text.includes(chosen.radius.toFixed(4)) && shown.text.includes((255 * chosen.radius).toFixed(2)), shown.text);

    // Noise of exactly 0.9 × the radius: the shown prediction and all the random draws keep the class.
    const eps = 0.9 * chosen.radius;
    const set = await page.$eval('#noise', (el, v) => {
      const input = el as any; // an HTMLInputElement (this file is compiled without the DOM types)
      input.value = String(v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      return input.value;
    }, eps);
    await page.waitForSelector(`#noisy-prediction[data-epsilon="${set}"]`);
    assert.ok(Math.abs(Number(set) - eps) < 1e-9, `slider took ${set} for ${eps}`);
    assert.equal(Number(await page.getAttribute('#noisy-prediction', 'data-class')), chosen.predicted);
    assert.equal(await page.getAttribute('#noise-draws', 'data-changed'), '0');
    const norm = Number(await page.getAttribute('#noisy-prediction', 'data-norm'));
    assert.ok(Math.abs(norm - eps) <= 1e-5 * Math.max(1, eps), `noise norm ${norm} vs ${eps}`);
    assert.match((await page.textContent('#noise-verdict'))!, /below the certified radius/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'serve-browser.png'), fullPage: true });

    // The same image uploaded as a PNG (encoded by the page's canvas) gives the same class and radius.
    // Functions run in the page: `globalThis.document` there (this file is compiled without the DOM types).
    const png = await page.evaluate(async (pixels) => {
      const canvas = (globalThis as any).document.createElement('canvas');
      canvas.width = 28;
      canvas.height = 28;
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(28, 28);
      pixels.forEach((v: number, i: number) => image.data.set([v, v, v, 255], 4 * i));
      ctx.putImageData(image, 0, 0);
      return canvas.toDataURL('image/png').split(',')[1];
    }, await page.evaluate((index) => {
      const pixels: number[] = [];
      const thumb = (globalThis as any).document.querySelector(`#samples button[data-index="${index}"] canvas`);
      const data = thumb.getContext('2d').getImageData(0, 0, 28, 28).data;
      for (let i = 0; i < 28 * 28; i++) pixels.push(data[4 * i]);
      return pixels;
    }, chosen.index));
    await page.setInputFiles('#upload', { name: 'item.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
    await page.waitForSelector('body[data-input="upload:item.png"]');
    const uploaded = await readShown();
    assert.equal(uploaded.predicted, chosen.predicted, uploaded.text);
    assert.ok(Math.abs(uploaded.radius - chosen.radius) <= 1e-4, `uploaded radius ${uploaded.radius} vs Node ${chosen.radius}`);

    // A drawing: the page classifies what it shows as its input (read back from the canvas) as Node does.
    const pad = (await page.locator('#draw-pad').boundingBox())!;
    await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.15);
    await page.mouse.down();
    for (const [fx, fy] of [[0.5, 0.85], [0.3, 0.85], [0.7, 0.85]]) await page.mouse.move(pad.x + pad.width * fx, pad.y + pad.height * fy, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('body[data-input="drawing"]');
    const drawn = await page.evaluate(() => {
      const data = (globalThis as any).document.querySelector('#input-view').getContext('2d').getImageData(0, 0, 28, 28).data;
      return Array.from({ length: 28 * 28 }, (_, i) => data[4 * i] as number);
    });
    assert.ok(drawn.filter((v) => v > 128).length > 20, 'the stroke reached the model input');
    const drawnShown = await readShown();
    const drawnNode = nodeCertificate(drawn);
    assert.equal(drawnShown.predicted, drawnNode.predicted, drawnShown.text);
    assert.ok(Math.abs(drawnShown.radius - drawnNode.radius) <= 1e-4, `drawing: radius shown ${drawnShown.radius} vs Node ${drawnNode.radius}`);
    assert.deepEqual(pageErrors, []);

    // Ctrl-C stops the server cleanly.
    const exited = new Promise<number | null>((resolve) => server!.child.once('exit', resolve));
    server.child.kill('SIGINT');
    assert.equal(await exited, 0, server.output());
    assert.match(server.output(), /stopped \(SIGINT\)/);
    server = null;
  } finally {
    model?.dispose();
    await browser?.close();
    server?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
