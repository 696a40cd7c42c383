// Replaces every orthogonal layer of a model by its plain counterpart holding
// the explicit weight (Conv2d, ConvTranspose2d, Linear): the same function,
// evaluated at the cost of a plain network, with no dependency on this
// library's reparametrizations (for export and deployment).
import { Tensor, noGrad } from '../torch/index.js';
import { Conv2d, ConvTranspose2d, Linear, Module } from '../nn/index.js';
import { OrthoConv2dBase } from './conv/ortho-conv.js';
import { OrthoConvTranspose2dBase } from './conv/ortho-conv-transpose.js';
import { OrthoLinear, UnitNormLinear } from './linear/ortho-linear.js';

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
  } else if (m instanceof OrthoLinear || m instanceof UnitNormLinear) {
    plain = new Linear(m.inFeatures, m.outFeatures, { bias: m.bias !== null });
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
