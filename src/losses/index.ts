// Losses, certificates, streaming metrics, certification and the L2 attack
// that checks certificates empirically.
export { LossXent, CosineLoss, CosineVRALoss, SoftHKRMulticlassLoss, HingeMarginLoss, CrossEntropyLoss, certificateDenominator } from './losses.js';
export type { LossXentOptions, CosineVRALossOptions, SoftHKRMulticlassLossOptions } from './losses.js';
export { certificates, verified, vra, lipschitzFromStd, lastLayerType, parseEps, DEFAULT_CERTIFICATE_EPS } from './certificates.js';
export type { LastLayer, CertificateOptions, VRAOptions } from './certificates.js';
export { Accuracy, MeanMetric, CertifiedAccuracy } from './metrics.js';
export type { AccuracyOptions, CertifiedAccuracyOptions, CertifiedAccuracyResult } from './metrics.js';
export { certify, resolveLastLayer } from './certify.js';
export type { Batch, CertifyOptions, CertifyResult } from './certify.js';
export { attackL2 } from './attack.js';
export type { AttackL2Options, AttackL2Result, StepSchedule } from './attack.js';
export { soundnessReport } from './soundness.js';
export type { SoundnessOptions, SoundnessReport, SoundnessAtEps, Violation } from './soundness.js';
export { NonFiniteValueError } from './checks.js';
