// Containers: Sequential, ModuleList, ModuleDict.
import { Tensor, scope } from '../torch/index.js';
import { Module } from './module.js';

/** Applies its children in order. */
export class Sequential extends Module {
  /**
   * Layout that 4-d inputs on CPU are converted to before the first layer
   * (PyTorch's `x.to(memory_format=…)` done by the model); null keeps the
   * caller's layout. 'channelsLast' (NHWC) lets oneDNN convolve without
   * reordering every input and output; the factory's models use it by default.
   * The function computed is the same up to float rounding.
   */
  memoryFormat: 'channelsLast' | 'contiguous' | null = null;

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }
  get length(): number { return this.children().length; }
  at(index: number): Module { return this.children().at(index) ?? throwIndex(index, this.length); }
  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }
  forward(input: Tensor): Tensor {
    if (this.memoryFormat && input.dim() === 4 && input.device === 'cpu') {
      const format = this.memoryFormat;
      return scope(() => this.applyLayers(format === 'channelsLast' ? input.contiguousChannelsLast() : input.contiguous()));
    }
    return this.applyLayers(input);
  }

  private applyLayers(input: Tensor): Tensor {
    let x = input;
    for (const m of this.children()) {
      const next = m.forward(x) as Tensor;
      // Release each intermediate activation as soon as the next layer has it, as PyTorch's
      // reference counting does: autograd holds its own references to what backward needs,
      // so only this handle goes. Without this, evaluation at a large batch kept every
      // layer's output alive until the caller's scope ended.
      if (x !== input && next !== x) x.dispose();
      x = next;
    }
    return x;
  }
  [Symbol.iterator](): Iterator<Module> { return this.children()[Symbol.iterator](); }
}

/** Holds modules in a list; does not define forward. */
export class ModuleList extends Module {
  constructor(modules: Module[] = []) {
    super();
    modules.forEach((m) => this.append(m));
  }
  get length(): number { return this.children().length; }
  at(index: number): Module { return this.children().at(index) ?? throwIndex(index, this.length); }
  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }
  forward(): never { throw new Error('ModuleList has no forward; iterate over its modules'); }
  [Symbol.iterator](): Iterator<Module> { return this.children()[Symbol.iterator](); }
}

/** Holds modules by name; does not define forward. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [name, m] of Object.entries(modules)) this.registerModule(name, m);
  }
  set(name: string, module: Module): void { this.registerModule(name, module); }
  get(name: string): Module | undefined { return [...this.namedChildren()].find(([n]) => n === name)?.[1]; }
  has(name: string): boolean { return this.get(name) !== undefined; }
  delete(name: string): void { this.registerModule(name, null); }
  keys(): string[] { return [...this.namedChildren()].map(([n]) => n); }
  forward(): never { throw new Error('ModuleDict has no forward; look modules up by name'); }
}

function throwIndex(index: number, length: number): never {
  throw new RangeError(`index ${index} is out of range for a container of ${length} modules`);
}
