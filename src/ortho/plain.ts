// Replaces every orthogonal layer of a model by its plain counterpart holding
// the explicit weight (Conv2d, ConvTranspose2d, Linear): the same function,
// evaluated at the cost of a plain network, with no dependency on this
// library's reparametrizations (for export and deployment).
import { Tensor, noGrad } from '../torch/index.js';
import { Conv2d, ConvTranspose2d, Linear, Module } from '../nn/index.js';
import { OrthoConv2dBase } from './conv/ortho-conv.js';
import { OrthoConvTranspose2dBase } from './conv/ortho-conv-transpose.js';
import { OrthoLinear, UnitNormLinear } from './linear/ortho-linear.js';

/** A subclass of a plain layer that keeps its forward and only derives its weight (OrthoLinear, AOLConv2D, AOLLinear …). */
function isRescaledSubclass(m: Module, base: typeof Conv2d | typeof ConvTranspose2d | typeof Linear): boolean {
  return m instanceof base && m.constructor !== base && m.forward === base.prototype.forward;
}

function plainCounterpart(m: Module): Module | null {
  let plain: Conv2d | ConvTranspose2d | Linear;
  if (m instanceof OrthoConv2dBase) {
    plain = new Conv2d(m.inChannels, m.outChannels, m.kernelSize, {
      stride: m.stride, padding: m.padding, dilation: m.dilation, groups: m.groups, bias: m.bias !== null, paddingMode: m.paddingMode,
    });
  } else if (m instanceof OrthoConvTranspose2dBase) {
    plain = new ConvTranspose2d(m.inChannels, m.outChannels, m.kernelSize, {
      stride: m.stride, padding: m.padding, outputPadding: m.outputPadding, dilation: m.dilation, groups: m.groups, bias: m.bias !== null,
    });
  } else if (isRescaledSubclass(m, Conv2d)) {
    // AOL convolutions: a Conv2d whose weight getter rescales the stored kernel.
    const c = m as Conv2d;
    plain = new Conv2d(c.inChannels, c.outChannels, c.kernelSize, {
      stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias !== null, paddingMode: c.paddingMode,
    });
  } else if (isRescaledSubclass(m, ConvTranspose2d)) {
    const c = m as ConvTranspose2d;
    plain = new ConvTranspose2d(c.inChannels, c.outChannels, c.kernelSize, {
      stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups, bias: c.bias !== null,
    });
  } else if (m instanceof OrthoLinear || m instanceof UnitNormLinear || isRescaledSubclass(m, Linear)) {
    const l = m as Linear;
    plain = new Linear(l.inFeatures, l.outFeatures, { bias: l.bias !== null });
  } else {
    return null;
  }
  noGrad(() => {
    const weight = (m as Module & { weight: Tensor }).weight;
    const dtype = weight.dtype;
    if (dtype !== 'float32') plain.to(dtype);
    plain.getParameter('weight')!.copy_(weight);
    weight.dispose();
    const bias = (m as Module & { bias: Tensor | null }).bias;
    if (bias) plain.getParameter('bias')!.copy_(bias);
  });
  plain.train(m.training);
  return plain;
}

/**
 * Converts in place: orthogonal layers inside `model` are swapped for plain
 * ones holding their current explicit weights (the orthogonal layers are
 * disposed). Returns the model, or the plain layer when the model itself is
 * an orthogonal layer.
 */
export function toPlainModel<M extends Module>(model: M): Module {
  const root = plainCounterpart(model);
  if (root) return root;
  const visit = (m: Module): void => {
    for (const [name, child] of [...m.namedChildren()]) {
      const plain = plainCounterpart(child);
      if (plain) {
        m.registerModule(name, plain);
        child.dispose();
      } else {
        visit(child);
      }
    }
  };
  visit(model);
  return model;
}
