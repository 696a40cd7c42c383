// A copy of a module's weights and buffers to put back exactly, for the
// Trainer's detours that must leave no trace: the sanity check's validation
// batches and the learning-rate range test's optimizer steps.
import { keep, noGrad } from '../torch/index.js';
import type { Module } from '../nn/index.js';

/** Copies the module's weights and buffers; the returned function puts them back exactly and frees the copies. */
export function snapshotState(module: Module): () => void {
  const saved = new Map([...module.stateDict()].map(([name, t]) => {
    const copy = keep(t.clone());
    t.dispose();
    return [name, copy];
  }));
  return () => {
    noGrad(() => module.loadStateDict(saved));
    for (const t of saved.values()) t.dispose();
  };
}
