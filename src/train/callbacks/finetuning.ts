// Lightning's finetuning callbacks. BaseFinetuning freezes modules before
// the optimizers are made (setup) and, at the start of every training epoch,
// lets a subclass unfreeze some of them and hand their parameters to the
// optimizer as a new parameter group. BackboneFinetuning is the ready-made
// one: the module's `backbone` stays frozen until an epoch, then trains with
// its own learning rate, raised each epoch until it reaches the rest's.
//
// Resuming: the parameter groups added during the run are recorded by
// parameter name in the callback's state. The checkpoint code loads callback
// states after the module's weights and before the optimizer states (as
// Lightning's _restore_modules_and_callbacks then restore_training_state), so
// loadStateDict rebuilds the groups on the freshly configured optimizers and
// the saved optimizer state, which has those groups, then loads into them.
import { Module, BatchNorm1d, BatchNorm2d, BatchNorm3d } from '../../nn/index.js';
import type { Tensor } from '../../torch/index.js';
import type { Optimizer } from '../../optim/index.js';
import { Callback } from './callback.js';
import type { JsonValue } from './callback.js';
import type { LightningModule, TrainerFn } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

/** A module, or (nested) iterables of modules, as Lightning's `modules` arguments. */
export type ModuleTree = Module | Iterable<ModuleTree>;

/** unfreezeAndAddParamGroup's options (Lightning's lr, initial_denom_lr, train_bn). */
export interface UnfreezeOptions {
  /** The new group's learning rate; when absent, the first group's lr divided by initialDenomLr. */
  lr?: number | null;
  /** Divides the first group's lr when `lr` is absent (default 10; ignored when `lr` is given, as in Lightning). */
  initialDenomLr?: number;
  /** Whether the BatchNorm layers' parameters join the group (default true). */
  trainBn?: boolean;
  /** Where the warning about parameters already in the optimizer goes (default: process.emitWarning). */
  warn?: (message: string) => void;
}

/** One recorded parameter group: its hyperparameters (JSON-able ones) and its parameters by name in the LightningModule. */
interface StoredGroup { params: string[]; hyper: Record<string, JsonValue> }

const isBatchNorm = (m: Module): boolean => m instanceof BatchNorm1d || m instanceof BatchNorm2d || m instanceof BatchNorm3d;

/**
 * PyTorch's `bn.track_running_stats = flag`: a frozen BatchNorm keeps its
 * running statistics (still used in eval) but no longer updates them in
 * training. The field is declared readonly because options set it, but the
 * layer's forward reads it on every call, so switching it is PyTorch's behaviour.
 */
function setTrackRunningStats(m: Module, flag: boolean): void {
  (m as unknown as { trackRunningStats: boolean }).trackRunningStats = flag;
}

const trackingStats = (m: Module): boolean => (m as unknown as { trackRunningStats: boolean }).trackRunningStats;

function isJson(value: unknown): value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  return false;
}

function positive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`${where}: ${name} must be a finite number > 0, got ${JSON.stringify(value)}`);
  return value;
}

function boolean(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Override freezeBeforeTraining (called in setup, before configureOptimizers:
 * the optimizer should take only trainable parameters, e.g.
 * `new SGD(this.parameters().filter((p) => p.requiresGrad))`) and
 * finetuneFunction (called at each training epoch's start, once per
 * optimizer) to unfreeze modules with unfreezeAndAddParamGroup.
 */
export abstract class BaseFinetuning extends Callback {
  /** Lightning's _internal_optimizer_metadata: each optimizer's groups (by index), parameters by name. */
  protected optimizerMetadata = new Map<number, StoredGroup[]>();
  /** Loaded state whose groups are not rebuilt yet (Lightning's _restarting). */
  private restarting = false;
  /** The last epoch whose finetuneFunction ran (a run resumed in the middle of it does not run it again). */
  private finetunedEpoch = -1;
  /** Which parameters were frozen and which BatchNorms stopped tracking statistics, from a loaded state. */
  private savedTrainability: { frozen: string[]; untracked: string[] } | null = null;
  /** The running fit's Trainer and module (between setup and teardown of 'fit'). */
  private fitting: { trainer: Trainer; module: LightningModule } | null = null;
  /** The module of the latest fit (what stateDict() describes after it). */
  private lastModule: LightningModule | null = null;

  /** Freezes what should not train at first (Lightning's freeze_before_training). */
  abstract freezeBeforeTraining(module: LightningModule): void;

  /** Unfreezes modules as the epochs go (Lightning's finetune_function); `epoch` is 0-based. */
  abstract finetuneFunction(module: LightningModule, epoch: number, optimizer: Optimizer): void;

  // ---- Lightning's static helpers ----------------------------------------------------
  /**
   * The modules of `modules` that hold parameters themselves: every leaf and
   * every parent with parameters of its own (each module once).
   */
  static flattenModules(modules: ModuleTree): Module[] {
    const all: Module[] = [];
    const walk = (item: ModuleTree): void => {
      if (item instanceof Module) all.push(...item.modules());
      else if (item !== null && typeof item === 'object' && typeof (item as Iterable<ModuleTree>)[Symbol.iterator] === 'function') for (const m of item) walk(m);
      else throw new TypeError(`BaseFinetuning: expected a Module or an iterable of Modules, got ${item === null ? 'null' : typeof item}`);
    };
    walk(modules);
    return [...new Set(all)].filter((m) => m.children().length === 0 || m.parameters(false).length > 0);
  }

  /** The parameters of `modules` whose requiresGrad equals `requiresGrad`; BatchNorm layers' only when `trainBn`. */
  static filterParams(modules: ModuleTree, trainBn = true, requiresGrad = true): Tensor[] {
    const out: Tensor[] = [];
    for (const m of BaseFinetuning.flattenModules(modules)) {
      if (isBatchNorm(m) && !trainBn) continue;
      // Not recursive: a parent's children are in the flattened list themselves.
      for (const p of m.parameters(false)) if (p.requiresGrad === requiresGrad && !out.includes(p)) out.push(p);
    }
    return out;
  }

  /** Every parameter of `modules` requires a gradient again; BatchNorm layers track running statistics again. */
  static makeTrainable(modules: ModuleTree): void {
    for (const m of BaseFinetuning.flattenModules(modules)) {
      if (isBatchNorm(m)) setTrackRunningStats(m, true);
      for (const p of m.parameters(false)) p.requiresGrad_(true);
    }
  }

  /** Freezes one module's own parameters (a BatchNorm also stops updating its running statistics). */
  static freezeModule(module: Module): void {
    if (isBatchNorm(module)) setTrackRunningStats(module, false);
    for (const p of module.parameters(false)) p.requiresGrad_(false);
  }

  /** Freezes `modules`; with `trainBn` (default) their BatchNorm layers stay trainable. */
  static freeze(modules: ModuleTree, trainBn = true): void {
    for (const m of BaseFinetuning.flattenModules(modules)) {
      if (isBatchNorm(m) && trainBn) BaseFinetuning.makeTrainable(m);
      else BaseFinetuning.freezeModule(m);
    }
  }

  /**
   * `params` without those already in one of the optimizer's groups (with a
   * warning naming how many). Lightning compares tensor values (torch.equal);
   * here a parameter is the same tensor object.
   */
  static filterOnOptimizer(optimizer: Optimizer, params: Iterable<Tensor>, warn: (message: string) => void = defaultWarn): Tensor[] {
    const present = new Set(optimizer.paramGroups.flatMap((g) => g.params));
    const out: Tensor[] = [];
    let removed = 0;
    for (const p of params) {
      if (present.has(p)) removed++;
      else out.push(p);
    }
    if (removed > 0) {
      warn(`BaseFinetuning: ${removed} of the parameters to unfreeze already belong to a group of ${optimizer.name}; they are skipped. ` +
        `Did configureOptimizers() give the optimizer only the trainable parameters (this.parameters().filter((p) => p.requiresGrad))?`);
    }
    return out;
  }

  /**
   * Unfreezes `modules` and adds their trainable parameters (BatchNorm
   * layers' only with trainBn) not yet in the optimizer as a new parameter
   * group. Its lr: `lr` when given, else the first group's lr / initialDenomLr.
   */
  static unfreezeAndAddParamGroup(modules: ModuleTree, optimizer: Optimizer, options: UnfreezeOptions = {}): void {
    const where = 'BaseFinetuning.unfreezeAndAddParamGroup';
    if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
    const given = options.lr ?? null;
    if (given !== null) positive(where, 'lr', given);
    const denom = given === null ? positive(where, 'initialDenomLr', options.initialDenomLr ?? 10) : 1;
    const trainBn = boolean(where, 'trainBn', options.trainBn, true);
    if (optimizer.paramGroups.length === 0) throw new Error(`${where}: ${optimizer.name} has no parameter group to take the lr from`);
    BaseFinetuning.makeTrainable(modules);
    const lr = given ?? optimizer.paramGroups[0].lr;
    const params = BaseFinetuning.filterOnOptimizer(optimizer, BaseFinetuning.filterParams(modules, trainBn, true), options.warn);
    if (params.length > 0) optimizer.addParamGroup({ params, lr: lr / denom });
  }

  // ---- hooks ------------------------------------------------------------------------
  override setup(trainer: Trainer, module: LightningModule, stage: TrainerFn): void {
    if (stage === 'fit') {
      this.fitting = { trainer, module };
      this.lastModule = module;
      // A fresh fit with this callback (unless a state was loaded by hand for it, Lightning's restarting).
      if (!this.restarting) {
        this.optimizerMetadata = new Map();
        this.finetunedEpoch = -1;
        this.savedTrainability = null;
      }
    }
    this.freezeBeforeTraining(module);
  }

  override teardown(_trainer: Trainer, _module: LightningModule, stage: TrainerFn): void {
    if (stage === 'fit') this.fitting = null;
  }

  /** A state loaded outside the checkpoint path is applied here, as Lightning's on_fit_start does. */
  override onFitStart(trainer: Trainer, module: LightningModule): void {
    if (this.restarting) this.restoreParamGroups(trainer, module);
  }

  override onTrainEpochStart(trainer: Trainer, module: LightningModule): void {
    const epoch = trainer.currentEpoch;
    // Lightning calls finetune_function again when a run resumes in the middle of an epoch, which
    // applies BackboneFinetuning's lr growth twice; here each epoch's runs once.
    if (epoch <= this.finetunedEpoch) return;
    trainer.optimizers.forEach((optimizer, index) => {
      const before = optimizer.paramGroups.length;
      this.finetuneFunction(module, epoch, optimizer);
      this.store(module, index, before, optimizer);
    });
    this.finetunedEpoch = epoch;
  }

  /** Lightning's _store: each optimizer's groups on the first call, then the groups added since. */
  private store(module: LightningModule, index: number, before: number, optimizer: Optimizer): void {
    const names = new Map<Tensor, string>();
    for (const [name, p] of module.namedParameters()) names.set(p, name);
    const describe = (groups: Optimizer['paramGroups']): StoredGroup[] => groups.map((group, g) => {
      const hyper: Record<string, JsonValue> = {};
      for (const [key, value] of Object.entries(group)) if (key !== 'params' && isJson(value)) hyper[key] = value;
      const params = group.params.map((p, i) => {
        const name = names.get(p);
        if (name === undefined) throw new Error(`${this.constructor.name}: parameter ${i} of group ${g} of ${optimizer.name} is not a parameter of the LightningModule; its group cannot be recorded for a resume`);
        return name;
      });
      return { params, hyper };
    });
    const stored = this.optimizerMetadata.get(index);
    if (stored === undefined) this.optimizerMetadata.set(index, describe(optimizer.paramGroups));
    else if (optimizer.paramGroups.length !== before) stored.push(...describe(optimizer.paramGroups.slice(before)));
  }

  /**
   * Puts the recorded groups back into the fit's optimizers (parameters found
   * by name), then the recorded frozen / trainable state of the module. The
   * groups configureOptimizers() made are kept when they hold the recorded
   * parameters; otherwise all are replaced, as Lightning does.
   */
  private restoreParamGroups(trainer: Trainer, module: LightningModule): void {
    const where = `${this.constructor.name}: restoring the parameter groups`;
    const named = new Map(module.namedParameters());
    for (const [index, groups] of this.optimizerMetadata) {
      const optimizer = trainer.optimizers[index];
      if (optimizer === undefined) throw new Error(`${where}: the state records optimizer ${index}, but configureOptimizers() returned ${trainer.optimizers.length}`);
      const resolved = groups.map((group, g) => group.params.map((name) => {
        const p = named.get(name);
        if (p === undefined) throw new Error(`${where}: group ${g} of ${optimizer.name} holds '${name}', which the module does not have`);
        return p;
      }));
      const current = optimizer.paramGroups;
      const samePrefix = current.length <= groups.length &&
        current.every((group, g) => group.params.length === resolved[g].length && group.params.every((p, i) => p === resolved[g][i]));
      const from = samePrefix ? current.length : 0;
      if (!samePrefix) current.splice(0, current.length);
      for (let g = from; g < groups.length; g++) optimizer.addParamGroup({ ...groups[g].hyper, params: resolved[g] });
    }
    const saved = this.savedTrainability;
    if (saved !== null) {
      const frozen = new Set(saved.frozen);
      for (const [name, p] of module.namedParameters()) p.requiresGrad_(!frozen.has(name));
      const untracked = new Set(saved.untracked);
      for (const [name, m] of module.namedModules()) if (isBatchNorm(m)) setTrackRunningStats(m, !untracked.has(name));
    }
    this.restarting = false;
  }

  // ---- state ------------------------------------------------------------------------
  /**
   * Lightning's `internal_optimizer_metadata` (groups' hyperparameters in this
   * library's names, parameters by name), plus what Lightning does not keep:
   * the last finetuned epoch, and which parameters are frozen and which
   * BatchNorms track statistics, so that a resumed run trains the same parameters.
   */
  override stateDict(): JsonValue {
    const metadata: Record<string, JsonValue> = {};
    for (const [index, groups] of this.optimizerMetadata) metadata[String(index)] = groups.map((g) => ({ ...g.hyper, params: g.params }));
    const module = this.fitting?.module ?? this.lastModule;
    const trainability = module === null ? this.savedTrainability : {
      frozen: [...module.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([name]) => name),
      untracked: [...module.namedModules()].filter(([, m]) => isBatchNorm(m) && !trackingStats(m)).map(([name]) => name),
    };
    return {
      internal_optimizer_metadata: metadata,
      finetuned_epoch: this.finetunedEpoch,
      frozen_parameters: trainability?.frozen ?? null,
      untracked_batch_norms: trainability?.untracked ?? null,
    };
  }

  override loadStateDict(state: JsonValue): void {
    const where = `${this.constructor.name}.loadStateDict`;
    const s = state as Record<string, JsonValue> | null;
    const metadata = s?.internal_optimizer_metadata as Record<string, JsonValue> | undefined;
    if (s === null || typeof s !== 'object' || metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new TypeError(`${where}: expected { internal_optimizer_metadata, … }, got ${JSON.stringify(state)?.slice(0, 200)}`);
    }
    const parsed = new Map<number, StoredGroup[]>();
    for (const [key, groups] of Object.entries(metadata)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || !Array.isArray(groups)) throw new TypeError(`${where}: internal_optimizer_metadata['${key}'] must be a list of groups`);
      parsed.set(index, groups.map((group, g) => {
        const { params, ...hyper } = (group ?? {}) as Record<string, JsonValue>;
        if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) throw new TypeError(`${where}: group ${g} of optimizer ${key} has no list of parameter names`);
        return { params: params as string[], hyper };
      }));
    }
    const names = (value: JsonValue | undefined): string[] | null => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? value as string[] : null);
    const frozen = names(s.frozen_parameters);
    const untracked = names(s.untracked_batch_norms);
    this.optimizerMetadata = parsed;
    this.finetunedEpoch = Number.isInteger(s.finetuned_epoch) ? s.finetuned_epoch as number : -1;
    this.savedTrainability = frozen !== null && untracked !== null ? { frozen, untracked } : null;
    this.restarting = true;
    // During a resume the Trainer has made the optimizers (configureOptimizers) and loads their states next.
    const fit = this.fitting;
    if (fit !== null && fit.trainer.optimizers.length > 0) this.restoreParamGroups(fit.trainer, fit.module);
  }
}

function defaultWarn(message: string): void {
  process.emitWarning(message);
}

/** Lightning's default lambda_func (`multiplicative`): the backbone's lr doubles every epoch. */
export const multiplicative = (_epoch: number): number => 2.0;

export interface BackboneFinetuningOptions {
  /** The (0-based) epoch at which the backbone starts training (default 10). */
  unfreezeBackboneAtEpoch?: number;
  /** The factor, given the epoch + 1, by which the backbone's lr grows each epoch after (default: 2, Lightning's `multiplicative`). */
  lambdaFunc?: (epoch: number) => number;
  /** The backbone's first lr as a fraction of the first group's lr (default 0.1). */
  backboneInitialRatioLr?: number;
  /** The backbone's first lr (overrides backboneInitialRatioLr). */
  backboneInitialLr?: number | null;
  /** Cap the backbone's lr at the first group's once it reaches it (default true). */
  shouldAlign?: boolean;
  /** Passed to unfreezeAndAddParamGroup, which ignores it since the lr is given (as in Lightning; default 10). */
  initialDenomLr?: number;
  /** Whether the backbone's BatchNorm layers train (default true). */
  trainBn?: boolean;
  /** Print both lrs at each epoch from the unfreezing on (default false). */
  verbose?: boolean;
  /** Decimals of the printed lrs (default 12). */
  rounding?: number;
}

/**
 * Lightning's BackboneFinetuning: the module's `backbone` child is frozen
 * until epoch unfreezeBackboneAtEpoch, where it joins the optimizer as a
 * new group with lr backboneInitialLr (or the first group's lr ×
 * backboneInitialRatioLr); after that, at each epoch's start, its lr is
 * multiplied by lambdaFunc(epoch + 1), capped at the first group's lr with shouldAlign.
 */
export class BackboneFinetuning extends BaseFinetuning {
  readonly unfreezeBackboneAtEpoch: number;
  readonly lambdaFunc: (epoch: number) => number;
  readonly backboneInitialRatioLr: number;
  readonly backboneInitialLr: number | null;
  readonly shouldAlign: boolean;
  readonly initialDenomLr: number;
  readonly trainBn: boolean;
  readonly verbose: boolean;
  readonly rounding: number;
  /** The backbone's lr set at the latest epoch start (null before the unfreezing). */
  previousBackboneLr: number | null = null;

  constructor(options: BackboneFinetuningOptions = {}) {
    super();
    const where = 'BackboneFinetuning';
    if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
    const at = options.unfreezeBackboneAtEpoch ?? 10;
    if (!Number.isInteger(at) || at < 0) throw new RangeError(`${where}: unfreezeBackboneAtEpoch must be an integer ≥ 0, got ${JSON.stringify(options.unfreezeBackboneAtEpoch)}`);
    this.unfreezeBackboneAtEpoch = at;
    const lambda = options.lambdaFunc ?? multiplicative;
    if (typeof lambda !== 'function') throw new TypeError(`${where}: lambdaFunc must be a function of the epoch, got ${typeof lambda}`);
    this.lambdaFunc = lambda;
    this.backboneInitialRatioLr = positive(where, 'backboneInitialRatioLr', options.backboneInitialRatioLr ?? 0.1);
    this.backboneInitialLr = options.backboneInitialLr == null ? null : positive(where, 'backboneInitialLr', options.backboneInitialLr);
    this.shouldAlign = boolean(where, 'shouldAlign', options.shouldAlign, true);
    this.initialDenomLr = positive(where, 'initialDenomLr', options.initialDenomLr ?? 10);
    this.trainBn = boolean(where, 'trainBn', options.trainBn, true);
    this.verbose = boolean(where, 'verbose', options.verbose, false);
    const rounding = options.rounding ?? 12;
    if (!Number.isInteger(rounding) || rounding < 0 || rounding > 100) throw new RangeError(`${where}: rounding must be an integer in [0, 100], got ${JSON.stringify(options.rounding)}`);
    this.rounding = rounding;
  }

  /** The module's `backbone`, which must be a registered child Module. */
  private backbone(module: LightningModule): Module {
    const backbone = (module as unknown as { backbone?: unknown }).backbone;
    const registered = [...module.namedChildren()].some(([name, child]) => name === 'backbone' && child === backbone);
    if (!(backbone instanceof Module) || !registered) {
      throw new Error(`BackboneFinetuning: the LightningModule should have a \`backbone\` child Module (registered with this.registerModule('backbone', …)); ` +
        `${module.constructor.name} has ${backbone instanceof Module ? 'a backbone that is not registered as its child' : 'none'}`);
    }
    return backbone;
  }

  override onFitStart(trainer: Trainer, module: LightningModule): void {
    this.backbone(module);
    super.onFitStart(trainer, module);
  }

  override freezeBeforeTraining(module: LightningModule): void {
    BaseFinetuning.freeze(this.backbone(module), this.trainBn);
  }

  override finetuneFunction(module: LightningModule, epoch: number, optimizer: Optimizer): void {
    const show = (x: number) => String(Number(x.toFixed(this.rounding)));
    if (epoch === this.unfreezeBackboneAtEpoch) {
      const currentLr = optimizer.paramGroups[0].lr;
      const initial = this.backboneInitialLr ?? currentLr * this.backboneInitialRatioLr;
      this.previousBackboneLr = initial;
      BaseFinetuning.unfreezeAndAddParamGroup(this.backbone(module), optimizer, {
        lr: initial, trainBn: this.trainBn, initialDenomLr: this.initialDenomLr, warn: (message) => module.print(`warning: ${message}`),
      });
      if (this.verbose) module.print(`Current lr: ${show(currentLr)}, Backbone lr: ${show(initial)}`);
    } else if (epoch > this.unfreezeBackboneAtEpoch) {
      if (this.previousBackboneLr === null) {
        throw new Error(`BackboneFinetuning: epoch ${epoch} is past unfreezeBackboneAtEpoch (${this.unfreezeBackboneAtEpoch}) but the backbone was never unfrozen ` +
          '(a run resumed from a checkpoint without this callback\'s state?)');
      }
      const currentLr = optimizer.paramGroups[0].lr;
      const grown = this.lambdaFunc(epoch + 1) * this.previousBackboneLr;
      if (!(Number.isFinite(grown) && grown >= 0)) {
        throw new RangeError(`BackboneFinetuning: lambdaFunc(${epoch + 1}) × the previous backbone lr ${this.previousBackboneLr} gives ${grown}, not a finite lr ≥ 0`);
      }
      const next = this.shouldAlign && grown > currentLr ? currentLr : grown;
      optimizer.paramGroups[optimizer.paramGroups.length - 1].lr = next;
      this.previousBackboneLr = next;
      if (this.verbose) module.print(`Current lr: ${show(currentLr)}, Backbone lr: ${show(next)}`);
    }
  }

  override stateDict(): JsonValue {
    return { ...(super.stateDict() as Record<string, JsonValue>), previous_backbone_lr: this.previousBackboneLr };
  }

  override loadStateDict(state: JsonValue): void {
    const previous = (state as Record<string, JsonValue> | null)?.previous_backbone_lr;
    if (previous !== null && previous !== undefined && typeof previous !== 'number') {
      throw new TypeError(`BackboneFinetuning.loadStateDict: previous_backbone_lr must be a number or null, got ${JSON.stringify(previous)}`);
    }
    this.previousBackboneLr = previous ?? null;
    super.loadStateDict(state);
  }
}
