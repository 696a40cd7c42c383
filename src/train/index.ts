// Training: the Trainer and its LightningModule, the seed's classification
// module and settings, callbacks, loggers, checkpoints and plots.
export { Trainer, NonFiniteLossError } from './trainer.js';
export type { TrainerOptions, FitResult, Loader, PositionedLoader, DataModuleLike, Precision, Accelerator, Strategy } from './trainer.js';
export { LightningModule, isLoggableMetric } from './lightning-module.js';
export { PrecisionPlugin, PRECISIONS } from './precision.js';
export type { LogOptions, LoggableMetric, OptimizerConfig, SchedulerConfig, Stage } from './lightning-module.js';
export type { PrecisionInput } from './precision.js';
export { ClassificationModule } from './classification-module.js';
export type { ClassificationModuleOptions, LossModule } from './classification-module.js';
export { SETTINGS, getSetting } from './settings.js';
export type { SettingName, TrainingSetting } from './settings.js';
export { Callback } from './callbacks/callback.js';
export { ModelCheckpoint } from './callbacks/model-checkpoint.js';
export type { ModelCheckpointOptions } from './callbacks/model-checkpoint.js';
export { EarlyStopping } from './callbacks/early-stopping.js';
export type { EarlyStoppingOptions } from './callbacks/early-stopping.js';
export { LearningRateMonitor } from './callbacks/lr-monitor.js';
export { LearningRateFinder, suggestLr, lrFinderSvg } from './callbacks/lr-finder.js';
export type { LearningRateFinderOptions, LrFinderResult } from './callbacks/lr-finder.js';
export type { Logger, MetricRow, LoggerFolderOptions } from './loggers/logger.js';
export { CSVLogger } from './loggers/csv-logger.js';
export { JSONLLogger } from './loggers/jsonl-logger.js';
export { TensorBoardLogger, readTensorBoardScalars } from './loggers/tensorboard-logger.js';
export { saveCheckpoint, loadCheckpoint, readCheckpoint, CHECKPOINT_FORMAT } from './checkpoint.js';
export type { CheckpointMetadata, LoadedCheckpoint, CheckpointFile } from './checkpoint.js';
export { certifiedAccuracySvg, certifiedAccuracyCurve } from './certified-plot.js';
export { trainingCurvesSvg, writeTrainingCurves } from './metric-plots.js';
export { svgToPng, lineChartSvg } from './svg-chart.js';
