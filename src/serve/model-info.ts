// What the page needs to know about an exported model, parsed and checked
// from its ONNX metadata_props (see src/export/onnx-export.ts): input shape,
// normalization and whether the graph applies it, class names, and the
// Lipschitz constant and head type that give the certified radius.
// Browser-safe: no Node imports.

export interface ModelInfo {
  /** [C, H, W] without the batch. */
  inputShape: [number, number, number];
  /** Per-channel normalization of pixels in [0, 1]; absent when the model takes raw pixels. */
  mean?: number[];
  std?: number[];
  /** True when (x − mean) / std is inside the graph: feed raw pixels in [0, 1]. */
  normalizedInGraph: boolean;
  /** Lipschitz constant of the whole model from raw pixels in [0, 1]. */
  lipschitz: number;
  lastLayer: 'global' | 'classwise';
  classNames?: string[];
  dataset?: string;
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`model metadata '${key}' is not valid JSON: ${text}`);
  }
}

const isNumberList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Parses metadata_props into a ModelInfo, naming the first missing or malformed entry. */
export function modelInfoFromMetadata(meta: Record<string, string>): ModelInfo {
  const need = (key: string): string => {
    const v = meta[key];
    if (v === undefined) throw new Error(`the ONNX model has no '${key}' metadata; export it with orthogonium export --format onnx`);
    return v;
  };
  const shape = parseJson('input_shape', need('input_shape'));
  if (!isNumberList(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`model metadata 'input_shape' must be [C, H, W] (an image model), got ${meta.input_shape}`);
  }
  const lipschitz = Number(need('lipschitz'));
  if (!(lipschitz > 0 && Number.isFinite(lipschitz))) throw new Error(`model metadata 'lipschitz' must be a number > 0, got ${meta.lipschitz}`);
  const lastLayer = need('last_layer');
  if (lastLayer !== 'global' && lastLayer !== 'classwise') throw new Error(`model metadata 'last_layer' must be 'global' or 'classwise', got ${lastLayer}`);
  const info: ModelInfo = {
    inputShape: shape as [number, number, number],
    normalizedInGraph: meta.input_normalized_in_graph === 'true',
    lipschitz,
    lastLayer,
  };
  if (meta.input_mean !== undefined || meta.input_std !== undefined) {
    const mean = parseJson('input_mean', need('input_mean'));
    const std = parseJson('input_std', need('input_std'));
    if (!isNumberList(mean) || !isNumberList(std) || mean.length !== shape[0] || std.length !== shape[0] || std.some((s) => s <= 0)) {
      throw new Error(`model metadata 'input_mean'/'input_std' must give one value per channel (${shape[0]}), std > 0; got ${meta.input_mean} / ${meta.input_std}`);
    }
    info.mean = mean;
    info.std = std;
  }
  if (info.normalizedInGraph && !info.mean) throw new Error("model metadata says the input is normalized in the graph but gives no 'input_mean'/'input_std'");
  if (meta.class_names !== undefined) {
    const names = parseJson('class_names', meta.class_names);
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error(`model metadata 'class_names' must be a list of strings, got ${meta.class_names}`);
    info.classNames = names as string[];
  }
  if (meta.dataset) info.dataset = meta.dataset;
  return info;
}

/**
 * The model's input for pixels in [0, 1] (CHW per image, images one after
 * the other): the pixels themselves when the graph normalizes, else
 * (x − mean) / std per channel, else the pixels.
 */
export function modelInput(info: ModelInfo, pixels: Float32Array): Float32Array {
  if (info.normalizedInGraph || !info.mean || !info.std) return pixels;
  const [c, h, w] = info.inputShape;
  const plane = h * w;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const ch = Math.floor(i / plane) % c;
    out[i] = (pixels[i] - info.mean[ch]) / info.std[ch];
  }
  return out;
}
