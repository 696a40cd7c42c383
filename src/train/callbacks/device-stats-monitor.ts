// Lightning's DeviceStatsMonitor: at each training batch's start and end
// (and each validation / test batch's end) it sends the device's statistics
// to the loggers, under `DeviceStatsMonitor.<hook>/<stat>` (Lightning's keys
// and '/' separator), at the loggers' current step.
//
// On CPU the statistics are Lightning's psutil ones (cpu_percent,
// cpu_vm_percent, cpu_swap_percent) plus this process's: resident memory,
// the V8 heap, its own CPU use, the live tensor handles and the library's
// caching CPU allocator counters (named like torch.cuda.memory_stats()'s).
// The native addon exposes no CUDA allocator statistics, so on CUDA only the
// CPU ones can be logged (cpuStats: true).
import { cpus, freemem, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { cpuAllocatorStats, memoryStats } from '../../torch/index.js';
import { Callback } from './callback.js';
import type { Batch } from '../../data/index.js';
import type { LightningModule, TrainerFn } from '../lightning-module.js';
import type { Trainer } from '../trainer.js';

export interface DeviceStatsMonitorOptions {
  /**
   * Lightning's cpu_stats: null/absent logs CPU statistics only when training
   * on CPU, true logs them whatever the device, false never (on CPU nothing is then logged).
   */
  cpuStats?: boolean | null;
  /** Log only these statistics (names before prefixing, e.g. 'cpu_percent'); unknown names are warned about at setup. */
  filterKeys?: Iterable<string> | null;
}

type Hook = 'on_train_batch_start' | 'on_train_batch_end' | 'on_validation_batch_end' | 'on_test_batch_end';

/** CPU time counters: all cores' busy and total milliseconds, this process's CPU microseconds, and when. */
interface CpuSample { busy: number; total: number; processMicros: number; at: number }

function sampleCpu(): CpuSample {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.idle + times.irq;
    total += sum;
    busy += sum - times.idle;
  }
  const usage = process.cpuUsage();
  return { busy, total, processMicros: usage.user + usage.system, at: performance.now() };
}

/** MemTotal, MemAvailable, SwapTotal, SwapFree in bytes from /proc/meminfo (null where it cannot be read). */
function meminfo(): Map<string, number> | null {
  try {
    const out = new Map<string, number>();
    for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
      if (m) out.set(m[1], Number(m[2]) * 1024);
    }
    return out;
  } catch {
    return null;
  }
}

const percent = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0);

export class DeviceStatsMonitor extends Callback {
  readonly cpuStats: boolean | null;
  readonly filterKeys: ReadonlySet<string> | null;
  /** The previous CPU sample: cpu_percent and process_cpu_percent cover the time since it (psutil's cpu_percent() without interval). */
  private lastCpu: CpuSample | null = null;

  constructor(options: DeviceStatsMonitorOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('DeviceStatsMonitor: options must be an object');
    const cpu = options.cpuStats ?? null;
    if (cpu !== null && typeof cpu !== 'boolean') throw new TypeError(`DeviceStatsMonitor: cpuStats must be a boolean or null, got ${JSON.stringify(options.cpuStats)}`);
    this.cpuStats = cpu;
    const keys = options.filterKeys ?? null;
    if (keys !== null) {
      const list = typeof keys === 'string' ? null : [...keys];
      if (list === null || !list.every((k) => typeof k === 'string')) throw new TypeError('DeviceStatsMonitor: filterKeys must be an iterable of statistic names');
      this.filterKeys = new Set(list);
    } else {
      this.filterKeys = null;
    }
  }

  /** As Lightning: a fit without a logger is refused (there would be nowhere to log). */
  override setup(trainer: Trainer, _module: LightningModule, stage: TrainerFn): void {
    if (stage !== 'fit') return;
    // In data-parallel runs only rank 0 keeps loggers: the others have nothing to check or log.
    if (trainer.loggers.length === 0) {
      if (trainer.globalRank !== 0) return;
      throw new Error('DeviceStatsMonitor: cannot be used with a Trainer without a logger (logger: false, or no defaultRootDir for the default loggers)');
    }
    this.lastCpu = sampleCpu();
    if (trainer.device !== 'cpu' && this.cpuStats !== true) {
      trainer.print('warning: DeviceStatsMonitor: this build exposes no CUDA memory statistics (torch.cuda.memory_stats); ' +
        'nothing is logged on CUDA unless cpuStats: true');
    }
    if (this.filterKeys !== null) {
      const available = new Set(Object.keys(this.stats(trainer, false)));
      const unknown = [...this.filterKeys].filter((k) => !available.has(k));
      if (unknown.length > 0) trainer.print(`warning: DeviceStatsMonitor: filterKeys names statistics that are not collected and will be ignored: ${unknown.join(', ')}`);
    }
  }

  // Training batches are sampled every logEveryNSteps batches, as Lightning's (trainer.shouldUpdateLogs).
  override onTrainBatchStart(trainer: Trainer, _module: LightningModule, _batch: Batch, _batchIndex: number): void {
    if (trainer.shouldUpdateLogs) this.log(trainer, 'on_train_batch_start');
  }

  override onTrainBatchEnd(trainer: Trainer, _module: LightningModule, _loss: number, _batchIndex: number, _batch: Batch): void {
    if (trainer.shouldUpdateLogs) this.log(trainer, 'on_train_batch_end');
  }

  override onValidationBatchEnd(trainer: Trainer, _module: LightningModule, _outputs: unknown, _batch: Batch, _batchIndex: number): void {
    // Nothing during the sanity check (Lightning's loggers record nothing then).
    if (!trainer.sanityChecking) this.log(trainer, 'on_validation_batch_end');
  }

  override onTestBatchEnd(trainer: Trainer, _module: LightningModule, _outputs: unknown, _batch: Batch, _batchIndex: number): void {
    this.log(trainer, 'on_test_batch_end');
  }

  private log(trainer: Trainer, hook: Hook): void {
    if (trainer.loggers.length === 0) return;
    if (this.cpuStats === false && trainer.device === 'cpu') return;
    let stats = this.stats(trainer, true);
    if (this.filterKeys !== null) stats = Object.fromEntries(Object.entries(stats).filter(([k]) => this.filterKeys!.has(k)));
    const prefix = `${this.constructor.name}.${hook}/`;
    const prefixed = Object.fromEntries(Object.entries(stats).map(([k, v]) => [prefix + k, v]));
    if (Object.keys(prefixed).length > 0) trainer.logMetrics(prefixed);
  }

  /** The device's statistics (Lightning's accelerator.get_device_stats), with the CPU's when asked for. */
  private stats(trainer: Trainer, advance: boolean): Record<string, number> {
    const onCpu = trainer.device === 'cpu';
    // No CUDA allocator statistics are exposed by the native addon (see the file's comment).
    return onCpu || this.cpuStats === true ? this.cpuDeviceStats(advance) : {};
  }

  /** Lightning's get_cpu_stats() and this process's memory, CPU use and allocator counters. */
  private cpuDeviceStats(advance: boolean): Record<string, number> {
    const now = sampleCpu();
    const last = this.lastCpu ?? { busy: 0, total: 0, processMicros: 0, at: 0 };
    if (advance) this.lastCpu = now;
    const info = meminfo();
    const total = info?.get('MemTotal') ?? totalmem();
    const available = info?.get('MemAvailable') ?? freemem();
    const swapTotal = info?.get('SwapTotal') ?? 0;
    const swapUsed = swapTotal - (info?.get('SwapFree') ?? 0);
    const wallMicros = (now.at - last.at) * 1000;
    const memory = process.memoryUsage();
    const out: Record<string, number> = {
      cpu_vm_percent: percent(total - available, total),
      cpu_percent: percent(now.busy - last.busy, now.total - last.total),
      cpu_swap_percent: percent(swapUsed, swapTotal),
      // This process: its CPU time over the wall time since the last sample (over 100 with several busy threads).
      process_cpu_percent: percent(now.processMicros - last.processMicros, wallMicros),
      process_rss_bytes: memory.rss,
      process_heap_used_bytes: memory.heapUsed,
      process_heap_total_bytes: memory.heapTotal,
      process_external_bytes: memory.external,
      live_tensors: memoryStats().liveTensors,
    };
    const allocator = cpuAllocatorStats();
    if (allocator.enabled) {
      out['cpu_allocator.allocated_bytes.all.current'] = allocator.allocatedBytes;
      out['cpu_allocator.allocated_bytes.all.peak'] = allocator.peakAllocatedBytes;
      out['cpu_allocator.reserved_bytes.all.current'] = allocator.reservedBytes;
      out['cpu_allocator.reserved_bytes.all.peak'] = allocator.peakReservedBytes;
      out['cpu_allocator.segment.all.current'] = allocator.segments;
      out['cpu_allocator.allocation.all.allocated'] = allocator.allocations;
      out['cpu_allocator.num_device_alloc'] = allocator.segmentMaps;
    }
    return out;
  }
}
