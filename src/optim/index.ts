// Optimizers and learning-rate schedulers (torch.optim counterparts).
export { Optimizer } from './optimizer.js';
export type { BaseHyper, HyperValue, OptimizerStateDict, ParamGroup, ParamGroupSpec, ParamState } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDHyper, SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamHyper, AdamOptions } from './adam.js';
export { AdamWScheduleFree } from './schedule-free.js';
export type { AdamWScheduleFreeHyper, AdamWScheduleFreeOptions } from './schedule-free.js';
export { LRScheduler, LambdaLR, LinearLR, CosineAnnealingLR } from './lr-scheduler.js';
export type { SchedulerStateDict, LinearLROptions, CosineAnnealingLROptions } from './lr-scheduler.js';
export { StepLR, MultiStepLR, ExponentialLR, ConstantLR, MultiplicativeLR, PolynomialLR } from './lr-scheduler-step.js';
export type { StepLROptions, MultiStepLROptions, ExponentialLROptions, ConstantLROptions, PolynomialLROptions } from './lr-scheduler-step.js';
export { OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts } from './lr-scheduler-cyclic.js';
export type { OneCycleLROptions, CyclicLROptions, CosineAnnealingWarmRestartsOptions } from './lr-scheduler-cyclic.js';
export { SequentialLR, ChainedScheduler } from './lr-scheduler-compose.js';
export type { SequentialLROptions } from './lr-scheduler-compose.js';
export { GradScaler } from './grad-scaler.js';
export type { GradScalerOptions, GradScalerStateDict } from './grad-scaler.js';
