// The certified-inference page: load the model, take an image (embedded test
// image, upload or drawing), show the prediction, its margin and certified
// L2 radius, and let the user add random noise of an exact L2 norm to see
// that the prediction does not change below the radius. Results are also
// written as data-* attributes (full precision) for tests and scripts.
import samples from 'page-data:samples';
import { certifiedPrediction, CertifiedPrediction } from '../../src/serve/certified-prediction.js';
import { l2Norm, noiseOfNorm, seededRandom } from '../../src/serve/exact-norm-noise.js';
import { loadModel, ModelRunner } from './model-runner.js';
import { drawingPad, pixelsFromBytes, pixelsFromFile, showPixels, Shape } from './image-sources.js';

/** Noise draws evaluated per slider position (one batch). */
const DRAWS = 32;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

interface Current { pixels: Float32Array; result: CertifiedPrediction; source: string }

let model: ModelRunner;
let shape: Shape;
let current: Current | null = null;
let noiseSeed = 1;
let generation = 0;

const className = (k: number): string => model.info.classNames?.[k] ?? `class ${k}`;
const fmt = (x: number, digits = 4): string => x.toFixed(digits);
const certDenominator = (): string => (model.info.lastLayer === 'global' ? '√2·L' : '2·L');

function setStatus(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function showModelInfo(): void {
  const { info } = model;
  const dataset = info.dataset ? `${info.dataset} model` : 'model';
  const normalization = info.mean ? (info.normalizedInGraph ? ', input normalization inside the graph' : ', input normalized by the page') : '';
  $('model-info').textContent = `${dataset}: input ${info.inputShape.join('×')}, ${info.classNames?.length ?? '?'} classes, ` +
    `Lipschitz constant L = ${fmt(info.lipschitz)} from pixels in [0, 1], ${info.lastLayer} head (radius = margin / ${certDenominator()})${normalization}.`;
}

function showLogits(logits: Float32Array, predicted: number): void {
  const table = $<HTMLTableElement>('logits');
  table.replaceChildren();
  const lo = Math.min(...logits);
  const hi = Math.max(...logits);
  logits.forEach((v, k) => {
    const row = table.insertRow();
    row.insertCell().textContent = className(k);
    row.insertCell().textContent = fmt(v);
    const bar = row.insertCell();
    bar.className = 'bar';
    const span = document.createElement('span');
    span.style.width = `${hi > lo ? 4 + 96 * (v - lo) / (hi - lo) : 50}px`;
    if (k === predicted) span.style.background = '#1a7f37';
    bar.append(span);
  });
}

function showCertificate(r: CertifiedPrediction): void {
  const prediction = $('prediction');
  prediction.textContent = className(r.predicted);
  prediction.dataset.class = String(r.predicted);
  const margin = $('margin');
  margin.textContent = fmt(r.margin);
  margin.dataset.margin = String(r.margin);
  const radius = $('radius');
  radius.textContent = `${fmt(r.radius)} (pixels in [0, 1]) = ${fmt(255 * r.radius, 2)} on the 0–255 scale`;
  radius.dataset.radius = String(r.radius);
  $('radius-explanation').textContent = r.radius > 0
    ? `Guarantee: every change δ of this image with ‖δ‖₂ < ${fmt(r.radius)} (pixel values in [0, 1]; ${fmt(255 * r.radius, 2)} on the 0–255 scale) ` +
      `leaves the prediction “${className(r.predicted)}” unchanged, because each logit difference moves by at most ${certDenominator()}·‖δ‖₂ ` +
      `with L = ${fmt(model.info.lipschitz)}.`
    : `The two top classes tie: no perturbation is certified.`;
}

/** Sets up the slider for a new image: its range covers twice the radius. */
function configureSlider(r: CertifiedPrediction): void {
  const slider = $<HTMLInputElement>('noise');
  const max = Math.max(0.5, Math.ceil(20 * Math.max(0, r.radius)) / 10);
  slider.max = String(max);
  if (Number(slider.value) > max) slider.value = String(max);
  slider.disabled = false;
  ($('resample') as HTMLButtonElement).disabled = false;
}

async function updateNoise(): Promise<void> {
  if (!current) return;
  const mine = ++generation;
  const { pixels, result } = current;
  const eps = Number($<HTMLInputElement>('noise').value);
  const n = pixels.length;
  const random = seededRandom(noiseSeed);
  const batch = new Float32Array(DRAWS * n);
  let shown: Float32Array | null = null;
  for (let d = 0; d < DRAWS; d++) {
    const noise = noiseOfNorm(n, eps, random);
    if (d === 0) shown = noise;
    for (let i = 0; i < n; i++) batch[d * n + i] = pixels[i] + noise[i];
  }
  const logits = await model.run(batch, DRAWS);
  if (mine !== generation || current?.pixels !== pixels) return; // a newer update is on its way
  const predictions = logits.map((l) => certifiedPrediction(l, model.info.lipschitz, model.info.lastLayer).predicted);
  const changed = predictions.filter((p) => p !== result.predicted).length;
  showPixels($<HTMLCanvasElement>('noisy-view'), batch.subarray(0, n), shape);

  $('noise-value').textContent = `${fmt(eps)} (pixels in [0, 1]) = ${fmt(255 * eps, 2)}/255 · ${result.radius > 0 ? fmt(eps / result.radius, 2) : '∞'}× the radius`;
  const noisy = $('noisy-prediction');
  const same = predictions[0] === result.predicted;
  noisy.textContent = `${className(predictions[0])} ${same ? '(unchanged)' : '(changed)'}`;
  noisy.className = same ? '' : 'changed';
  noisy.dataset.class = String(predictions[0]);
  noisy.dataset.epsilon = String(eps);
  noisy.dataset.norm = String(l2Norm(shown!));
  const draws = $('noise-draws');
  draws.textContent = `${changed} of ${DRAWS} changed the prediction`;
  draws.dataset.changed = String(changed);
  draws.dataset.draws = String(DRAWS);
  const verdict = $('noise-verdict');
  const below = eps < result.radius;
  verdict.className = `explain ${below ? 'safe' : 'unsafe'}`;
  verdict.textContent = below
    ? `‖δ‖₂ = ${fmt(eps)} is below the certified radius ${fmt(result.radius)}: no noise of this norm, random or adversarial, can change the prediction.`
    : `‖δ‖₂ = ${fmt(eps)} is at or above the certified radius ${fmt(result.radius)}: no guarantee — some perturbation of this norm may change the prediction (random noise rarely finds it).`;
}

/** `label`: the true class, known for test images. */
async function classify(pixels: Float32Array, source: string, label?: number): Promise<void> {
  const [logits] = await model.run(pixels, 1);
  const result = certifiedPrediction(logits, model.info.lipschitz, model.info.lastLayer);
  current = { pixels, result, source };
  showPixels($<HTMLCanvasElement>('input-view'), pixels, shape);
  showCertificate(result);
  $('true-label').textContent = label === undefined ? '— (known for test images only)'
    : `${className(label)} (${label === result.predicted ? 'correct' : 'misclassified: the radius certifies the wrong class'})`;
  showLogits(logits, result.predicted);
  configureSlider(result);
  await updateNoise();
  document.body.dataset.input = source;
  document.body.dataset.inputVersion = String(Number(document.body.dataset.inputVersion ?? 0) + 1);
  setStatus('');
}

/** Runs an action from an event handler, showing its error on the page. */
function guarded(action: () => Promise<void>): () => void {
  return () => { action().catch((error: Error) => setStatus(error.message, true)); };
}

function setUpSamples(): void {
  const box = $('samples');
  if (samples.length === 0) {
    const note = $('samples-note');
    note.hidden = false;
    note.textContent = 'No test images were embedded (the dataset the checkpoint names was not available when the page was built).';
    return;
  }
  for (const s of samples) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.index = String(s.index);
    button.dataset.label = String(s.label);
    button.title = `test image #${s.index}, label ${s.className}`;
    const thumb = document.createElement('canvas');
    const pixels = pixelsFromBytes(s.pixels);
    showPixels(thumb, pixels, shape);
    const caption = document.createElement('span');
    caption.textContent = s.className;
    button.append(thumb, caption);
    button.addEventListener('click', guarded(async () => {
      for (const b of box.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
      await classify(pixels, `sample:${s.index}`, s.label);
    }));
    box.append(button);
  }
}

function setUpUpload(): void {
  const input = $<HTMLInputElement>('upload');
  $('upload-colour').textContent = ` (${shape[1]}×${shape[2]}, ${shape[0] === 1 ? 'greyscale' : 'colour'})`;
  const run = guarded(async () => {
    const file = input.files?.[0];
    if (!file) return;
    await classify(await pixelsFromFile(file, shape, $<HTMLInputElement>('invert').checked), `upload:${file.name}`);
  });
  input.addEventListener('change', run);
  $('invert').addEventListener('change', run);
}

function setUpDrawing(): void {
  if (shape[0] !== 1) return; // drawing in white on black makes sense for greyscale models
  $('draw-block').hidden = false;
  const pad = drawingPad($<HTMLCanvasElement>('draw-pad'), shape, (pixels) => guarded(() => classify(pixels, 'drawing'))());
  $('draw-clear').addEventListener('click', () => pad.clear());
}

async function start(): Promise<void> {
  setStatus('Loading the model and the WebAssembly runtime…');
  model = await loadModel('model.onnx');
  shape = model.info.inputShape;
  showModelInfo();
  setUpSamples();
  setUpUpload();
  setUpDrawing();
  $('noise').addEventListener('input', guarded(updateNoise));
  $('resample').addEventListener('click', guarded(async () => {
    noiseSeed++;
    await updateNoise();
  }));
  setStatus(samples.length > 0 ? 'Ready: pick a test image, upload one or draw.' : 'Ready: upload an image or draw one.');
  document.body.dataset.ready = 'true';
}

start().catch((error: Error) => {
  setStatus(`Cannot start: ${error.message}`, true);
  document.body.dataset.ready = 'error';
});
