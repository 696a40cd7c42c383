// Caches a tensor derived from a module's parameters and buffers (a composed
// kernel, say) for as long as no gradient can be wanted — grad mode off or
// the module in eval mode — and its inputs are unchanged, judged by autograd
// version counters. With gradients in training, it is computed every time.
import { Tensor, isGradEnabled, keep, noGrad, withoutAutocast } from '../torch/index.js';
import type { Module } from './module.js';

export class DerivedCache {
  private value: Tensor | null = null;
  private versions: number[] = [];

  constructor(private readonly owner: Module) {}

  private currentVersions(): number[] {
    return [...this.owner.parameters(), ...this.owner.buffers()].map((t) => t.version);
  }

  /** The derived tensor, computed in the parameters' precision even under autocast (see withoutAutocast). */
  get(computeInAnyPrecision: () => Tensor): Tensor {
    const compute = () => withoutAutocast(computeInAnyPrecision);
    if (isGradEnabled() && this.owner.training) {
      this.clear();
      return compute();
    }
    if (this.value) {
      const now = this.currentVersions();
      if (now.length === this.versions.length && now.every((v, i) => v === this.versions[i])) return this.value.detach();
      this.clear();
    }
    this.value = keep(noGrad(compute));
    this.versions = this.currentVersions();
    return this.value.detach();
  }

  clear(): void {
    this.value?.dispose();
    this.value = null;
  }
}
