// Optimizers and learning-rate schedulers (torch.optim counterparts).
export { Optimizer } from './optimizer.js';
export type { BaseHyper, HyperValue, OptimizerStateDict, ParamGroup, ParamGroupSpec, ParamState } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDHyper, SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamHyper, AdamOptions } from './adam.js';
export { AdamWScheduleFree } from './schedule-free.js';
export type { AdamWScheduleFreeHyper, AdamWScheduleFreeOptions } from './schedule-free.js';
export { LRScheduler, LambdaLR, LinearLR, CosineAnnealingLR, SequentialLR, OneCycleLR } from './lr-scheduler.js';
export type { SchedulerStateDict, LinearLROptions, CosineAnnealingLROptions, SequentialLROptions, OneCycleLROptions } from './lr-scheduler.js';
export { GradScaler } from './grad-scaler.js';
export type { GradScalerOptions, GradScalerStateDict } from './grad-scaler.js';
export { ReduceLROnPlateau } from './reduce-lr-on-plateau.js';
export type { ReduceLROnPlateauOptions, ReduceLROnPlateauState } from './reduce-lr-on-plateau.js';
