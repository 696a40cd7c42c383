// The seed tutorial's ClassificationLightningModule: a classifier, its loss,
// and per step and per epoch the loss, accuracy and verified robust accuracy
// (VRA) at one radius; optimized with schedule-free AdamW (lr 5e-3, no weight
// decay) whose train/eval mode follows the model's.
import { Tensor, noGrad, scope, stack } from '../torch/index.js';
import { Module } from '../nn/index.js';
import { AdamWScheduleFree, Optimizer } from '../optim/index.js';
import { CrossEntropyLoss, LastLayer, resolveLastLayer, verified } from '../losses/index.js';
import type { Batch } from '../data/index.js';
import { FactoryModel } from '../models/index.js';
import { LightningModule, OptimizerConfig } from './lightning-module.js';

/** A loss: forward(logits, labels) → 0-d tensor. */
export type LossModule = Module & { forward(logits: Tensor, labels: Tensor): Tensor };

export interface ClassificationModuleOptions {
  model: Module;
  /** Default: cross-entropy (the seed's default when no loss is given). */
  loss?: LossModule;
  /** Lipschitz constant of the model in its raw input, 1/min(std) of the normalization (default 1). */
  lipschitz?: number;
  /** Radius of the logged VRA (default 36/255). */
  eps?: number;
  /** Certificate type of the head (default 'auto': read from the model's last linear layer). */
  lastLayer?: LastLayer | 'auto';
  /** Learning rate and weight decay of the default AdamWScheduleFree (5e-3 and 0, as the seed). */
  lr?: number;
  weightDecay?: number;
  /** Replaces the default optimizer; `lr` is the module's (a LearningRateFinder may have set it). */
  optimizer?: (parameters: Tensor[], lr: number) => OptimizerConfig;
}

export class ClassificationModule extends LightningModule {
  readonly model: Module;
  readonly criterion: LossModule;
  readonly lipschitz: number;
  readonly eps: number;
  readonly lastLayer: LastLayer;
  /** The default optimizer's learning rate (a LearningRateFinder may set it before training). */
  lr: number;
  readonly weightDecay: number;
  private readonly optimizerFactory?: (parameters: Tensor[], lr: number) => OptimizerConfig;
  private optimizer: Optimizer | null = null;

  constructor(options: ClassificationModuleOptions) {
    super();
    if (!(options?.model instanceof Module)) throw new TypeError('ClassificationModule: options.model must be a Module');
    this.model = this.registerModule('model', options.model);
    // Registered so that its buffers (SoftHKR's running mean) move with to() and are checkpointed.
    this.criterion = this.registerModule('criterion', options.loss ?? new CrossEntropyLoss());
    this.lipschitz = options.lipschitz ?? 1;
    this.eps = options.eps ?? 36 / 255;
    if (!(this.eps > 0)) throw new RangeError(`ClassificationModule: eps must be > 0, got ${options.eps}`);
    this.lastLayer = resolveLastLayer(this.model, options.lastLayer ?? 'auto', 'ClassificationModule');
    this.lr = options.lr ?? 5e-3;
    this.weightDecay = options.weightDecay ?? 0;
    this.optimizerFactory = options.optimizer;
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x) as Tensor;
  }

  /** Loss, accuracy and VRA of one batch, logged under `${prefix}loss` etc. */
  private evaluateBatch(batch: Batch, prefix: string): Tensor {
    const logits = this.forward(batch.x);
    const loss = this.criterion.forward(logits, batch.y) as Tensor;
    noGrad(() => scope(() => {
      const detached = logits.detach().float();
      const labels = batch.y.to({ device: detached.device });
      const hits = detached.argmax(1).eq(labels).to('float64').mean();
      const robust = verified(detached, labels, { eps: this.eps, lipschitz: this.lipschitz, lastLayer: this.lastLayer }).to('float64').mean();
      // One read of the three values (in float64, so the loss keeps its digits): on a GPU each read waits for the queued kernels.
      const [lossValue, accuracy, vraValue] = stack([loss.detach().to('float64').reshape([]), hits, robust]).toFlatArray();
      const training = prefix === '';
      this.log(`${prefix}loss`, lossValue, { onStep: training, onEpoch: true, progBar: true });
      this.log(`${prefix}accuracy`, accuracy, { onStep: training, onEpoch: true, progBar: true });
      this.log(`${prefix}vra`, vraValue, { onStep: training, onEpoch: true, progBar: true });
    }));
    logits.dispose();
    return loss;
  }

  trainingStep(batch: Batch): Tensor {
    return this.evaluateBatch(batch, '');
  }

  override validationStep(batch: Batch): void {
    this.evaluateBatch(batch, 'val_').dispose();
  }

  override testStep(batch: Batch): void {
    this.evaluateBatch(batch, 'test_').dispose();
  }

  configureOptimizers(): OptimizerConfig {
    const parameters = this.model.parameters();
    const config = this.optimizerFactory
      ? this.optimizerFactory(parameters, this.lr)
      : { optimizer: new AdamWScheduleFree(parameters, { lr: this.lr, weightDecay: this.weightDecay }) };
    this.optimizer = config.optimizer;
    return config;
  }

  /** Switches the model and a schedule-free optimizer together (parameters move between y and x). */
  override train(mode = true): this {
    super.train(mode);
    const opt = this.optimizer as (Optimizer & { train?: () => void; eval?: () => void }) | null;
    if (opt && typeof opt.train === 'function' && typeof opt.eval === 'function') {
      if (mode) opt.train();
      else opt.eval();
    }
    return this;
  }

  override modelConfig(): unknown {
    return this.model instanceof FactoryModel ? this.model.config : null;
  }
}
