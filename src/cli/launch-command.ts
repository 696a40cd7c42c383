// `orthogonium launch --nproc N [--num-nodes M --node-rank R --master-addr A --master-port P] script.js [args…]`:
// starts N processes of a script as the ranks of a data-parallel job (like torchrun), with RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set; a Trainer({ strategy: 'ddp' }) in the
// script joins them. If one rank fails, the others are stopped and the command exits 1.
import { resolve } from 'node:path';
import { FlagSpec, UsageError, parseFlags, withUsage } from './args.js';

const FLAGS: Record<string, FlagSpec> = {
  '--nproc': { key: 'nproc', kind: 'positive-int' },
  '--num-nodes': { key: 'numNodes', kind: 'positive-int' },
  '--node-rank': { key: 'nodeRank', kind: 'non-negative-int' },
  '--master-addr': { key: 'masterAddr', kind: 'string' },
  '--master-port': { key: 'masterPort', kind: 'positive-int' },
};

export function launchCommand(args: string[], usage: string): Promise<number> {
  return withUsage('launch', usage, async () => {
    // Every option takes a value: the script is the first argument after the option pairs.
    let scriptAt = 0;
    while (scriptAt < args.length && args[scriptAt].startsWith('--')) scriptAt += 2;
    if (scriptAt >= args.length) throw new UsageError('give the script to run after the options');
    const o = parseFlags(args.slice(0, scriptAt), FLAGS) as { nproc?: number; numNodes?: number; nodeRank?: number; masterAddr?: string; masterPort?: number };
    if (o.nproc === undefined) throw new UsageError('--nproc is required');
    const { launch, LaunchError } = await import('../distributed/index.js');
    try {
      const r = await launch({ nprocs: o.nproc, numNodes: o.numNodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort, script: resolve(args[scriptAt]), args: args.slice(scriptAt + 1) });
      console.error(`orthogonium launch: ${o.nproc} processes finished in ${r.seconds.toFixed(1)} s`);
      return 0;
    } catch (error) {
      if (!(error instanceof LaunchError) && !(error instanceof RangeError)) throw error;
      console.error(`orthogonium launch: ${error.message}`);
      return 1;
    }
  });
}
