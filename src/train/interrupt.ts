// Ctrl-C during training: the first SIGINT/SIGTERM asks the loop to stop
// cleanly after the current step (it then writes a checkpoint); a second one
// exits at once with the shell's code for that signal.
import type { ProgressOutput } from './progress.js';

/** Installs the handlers: a signal while `requested()` exits, else calls `request`. Returns the uninstaller. */
export function catchInterrupt(out: ProgressOutput, requested: () => boolean, request: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested()) process.exit(signal === 'SIGINT' ? 130 : 143);
    request();
    out.write(`\n${signal}: finishing the current step, then writing a checkpoint (press Ctrl-C again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
