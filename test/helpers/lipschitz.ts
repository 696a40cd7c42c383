// Lipschitz checks shared by the model tests: the exact Jacobian's spectral
// norm, and the largest ratio ‖f(x) − f(y)‖ / ‖x − y‖ over random nearby
// pairs and over pairs pushed apart by gradient ascent on that ratio.
import * as torch from '../../src/torch/index.js';
import { Module } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';

type Tensor = torch.Tensor;

/** The exact Jacobian of the model at x (one backward pass per output), as rows, in float64. */
export function jacobian(model: Module, x: Tensor): Tensor {
  const input = x.detach().double().requiresGrad_(true);
  const out = model.forward(input) as Tensor;
  const rows: Tensor[] = [];
  for (let i = 0; i < out.shape[1]; i++) {
    const [g] = torch.autograd.grad(out.select(1, i).sum(), input, { retainGraph: true });
    rows.push(g!.flatten());
  }
  return torch.stack(rows);
}

/** Largest singular value of the exact Jacobian at x. */
export const jacobianNorm = (model: Module, x: Tensor): number =>
  torch.scope(() => torch.linalg.matrixNorm(jacobian(model, x), 2).item());

export function pairRatios(model: Module, x: Tensor, y: Tensor): Tensor {
  const fx = model.forward(x) as Tensor;
  const fy = model.forward(y) as Tensor;
  return fx.sub(fy).flatten(1).norm(2, 1).div(x.sub(y).flatten(1).norm(2, 1));
}

/** Largest ratio over `count` random pairs at distance ~`spread` (float64 inputs of the given shape). */
export function randomPairRatio(model: Module, shape: number[], count = 32, spread = 0.1): number {
  return torch.noGrad(() => torch.scope(() => {
    const x = torch.randn([count, ...shape], { dtype: 'float64' });
    const y = x.add(torch.randn([count, ...shape], { dtype: 'float64' }).mul(spread));
    return pairRatios(model, x, y).max().item();
  }));
}

/** Largest ratio reached by `steps` Adam steps of gradient ascent on the ratio of `count` pairs. */
export function ascentPairRatio(model: Module, shape: number[], count = 8, steps = 30): number {
  return torch.scope(() => {
    const x = torch.randn([count, ...shape], { dtype: 'float64' }).requiresGrad_(true);
    const y = x.detach().add(torch.randn([count, ...shape], { dtype: 'float64' }).mul(0.05)).requiresGrad_(true);
    const optimizer = new Adam([x, y], { lr: 0.01, maximize: true });
    let best = 0;
    for (let step = 0; step < steps; step++) {
      best = Math.max(best, torch.scope(() => {
        optimizer.zeroGrad();
        const r = pairRatios(model, x, y);
        r.sum().backward();
        optimizer.step();
        return r.max().item();
      }));
    }
    optimizer.dispose();
    return best;
  });
}
