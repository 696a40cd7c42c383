// Lightning's should_stop: a callback (EarlyStopping, Timer) asks the fit
// loop to stop; the first reason given is kept, and the request waits until
// minEpochs epochs and minSteps optimizer steps are done (min_epochs, min_steps).
export class StopRequest {
  /** The first reason given; null while nobody asked to stop. */
  reason: string | null = null;
  /** Whether the line saying the stop waits for the minimum was printed (it is, once). */
  private noticePrinted = false;

  constructor(private readonly minimum: { epochs: number; steps: number }, private readonly print: (line: string) => void) {}

  request(reason: string): void {
    this.reason ??= reason;
  }

  /** Whether a requested stop may end training at this epoch and step. */
  allowed(epoch: number, step: number): boolean {
    if (this.reason === null) return false;
    const { epochs, steps } = this.minimum;
    if (epoch >= epochs && step >= steps) return true;
    if (!this.noticePrinted) {
      this.noticePrinted = true;
      this.print(`asked to stop (${this.reason}), but minEpochs=${epochs} / minSteps=${steps} are not reached: training continues until they are`);
    }
    return false;
  }
}
