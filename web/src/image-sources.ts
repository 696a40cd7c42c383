// Images in and out of canvases, as pixels in [0, 1] in CHW order with the
// model's channel count: grey (luminance) for 1 channel, RGB for 3. Uploads
// are resized to the model's size on a canvas; the drawing pad is drawn at
// 10× and downsampled the same way.

export type Shape = [number, number, number];

/** Pixels of a canvas region already at the model's size. */
export function pixelsFromImageData(image: ImageData, shape: Shape, invert = false): Float32Array {
  const [c, h, w] = shape;
  if (image.width !== w || image.height !== h) throw new Error(`expected a ${w}×${h} image, got ${image.width}×${image.height}`);
  if (c !== 1 && c !== 3) throw new Error(`the page handles 1- or 3-channel images, the model takes ${c}`);
  const out = new Float32Array(c * h * w);
  const d = image.data;
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = [d[4 * p] / 255, d[4 * p + 1] / 255, d[4 * p + 2] / 255];
    if (c === 1) out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else { out[p] = r; out[h * w + p] = g; out[2 * h * w + p] = b; }
  }
  if (invert) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i];
  return out;
}

/** Draws `source` resized to the model's size over black, and reads it back. */
export function resizeToModel(source: CanvasImageSource, shape: Shape, invert: boolean): Float32Array {
  const [, h, w] = shape;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = invert ? '#fff' : '#000';
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return pixelsFromImageData(ctx.getImageData(0, 0, w, h), shape, invert);
}

export async function pixelsFromFile(file: File, shape: Shape, invert: boolean): Promise<Float32Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: not an image the browser can decode`);
  }
  try {
    return resizeToModel(bitmap, shape, invert);
  } finally {
    bitmap.close();
  }
}

/** Uint8 CHW pixels (embedded samples) as [0, 1] floats. */
export const pixelsFromBytes = (bytes: ArrayLike<number>): Float32Array => Float32Array.from(bytes, (v) => v / 255);

/** Shows CHW pixels on a canvas of the model's size, clipped to [0, 1]. */
export function showPixels(canvas: HTMLCanvasElement, pixels: Float32Array, shape: Shape): void {
  const [c, h, w] = shape;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(w, h);
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let p = 0; p < h * w; p++) {
    const r = byte(pixels[p]);
    image.data[4 * p] = r;
    image.data[4 * p + 1] = c === 3 ? byte(pixels[h * w + p]) : r;
    image.data[4 * p + 2] = c === 3 ? byte(pixels[2 * h * w + p]) : r;
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** A black pad to draw on in white; `onDone` gets the drawing at the model's size when the pen lifts. */
export function drawingPad(canvas: HTMLCanvasElement, shape: Shape, onDone: (pixels: Float32Array) => void): { clear(): void } {
  const ctx = canvas.getContext('2d')!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [(e.clientX - box.left) * (canvas.width / box.width), (e.clientY - box.top) * (canvas.height / box.height)];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const next = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
  });
  const end = () => {
    if (!last) return;
    last = null;
    onDone(resizeToModel(canvas, shape, false));
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return { clear };
}
