// Spectral normalization of a batch of matrices [..., m, n] by power
// iteration. The singular vectors u [..., m, 1] and v [..., n, 1] persist as
// buffers and are refined by each evaluation (warm start), without gradient;
// the gradient flows through the Rayleigh quotient σ = uᵀXv only.
import { Tensor, noGrad, randn, scope } from '../../torch/index.js';
import { Parametrization } from '../../nn/index.js';

const normalizeColumns = (x: Tensor): Tensor => x.div(x.norm(2, -2, true).add(1e-8));

export interface PowerIterationOptions { iterations?: number; eps?: number }

export class BatchedPowerIteration extends Parametrization {
  readonly iterations: number;
  readonly eps: number;
  private readonly u: Tensor;
  private readonly v: Tensor;

  constructor(readonly weightShape: number[], options: PowerIterationOptions = {}) {
    super();
    if (weightShape.length < 2) throw new RangeError(`BatchedPowerIteration: weight shape [${weightShape}] needs at least 2 dims`);
    this.iterations = options.iterations ?? 3;
    this.eps = options.eps ?? 1e-12;
    const batch = weightShape.slice(0, -2);
    const [m, n] = weightShape.slice(-2);
    this.u = this.registerBuffer('u', scope(() => normalizeColumns(randn([...batch, m, 1]))));
    this.v = this.registerBuffer('v', scope(() => normalizeColumns(randn([...batch, n, 1]))));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const [u, v] = noGrad(() => {
        const w = x.detach().to(this.u.dtype);
        let uk = this.u;
        let vk = this.v;
        for (let i = 0; i < this.iterations; i++) {
          vk = normalizeColumns(w.mT.matmul(uk));
          uk = normalizeColumns(w.matmul(vk));
        }
        this.u.copy_(uk);
        this.v.copy_(vk);
        return [uk.to(x.dtype), vk.to(x.dtype)];
      });
      const sigma = u.mT.matmul(x).matmul(v);
      return x.div(sigma.add(this.eps));
    });
  }

  override rightInverse(w: Tensor): Tensor { return w.clone(); }

  override extraRepr(): string { return `iterations=${this.iterations}, eps=${this.eps}`; }
}
