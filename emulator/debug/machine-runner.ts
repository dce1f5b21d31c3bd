/**
 * Runs the generic machine (run-elf's) in slices of virtual time, yielding
 * to the event loop between them so a debugger can be served, and holding
 * it for one: a debug host (debug-host.ts) for a machine without a board.
 */
import type { RunResult } from '../core/cpu.ts';
import type { Machine } from '../core/machine.ts';
import type { DebugHost } from './debug-host.ts';

export interface MachineRunnerOptions {
  /** Virtual time after which `run` gives up with 'time', ns. */
  readonly limitNs: number;
  /** Longest slice run before yielding, ns (default 10 ms). */
  readonly sliceNs?: number;
}

export class MachineRunner implements DebugHost {
  private isHeld = false;
  private wake: (() => void) | undefined;
  private readonly listeners = new Set<(result: RunResult) => void>();

  constructor(
    private readonly machine: Machine,
    private readonly options: MachineRunnerOptions,
  ) {}

  get cpu() {
    return this.machine.cpu;
  }

  get bus() {
    return this.machine.bus;
  }

  get held(): boolean {
    return this.isHeld;
  }

  hold(): void {
    this.isHeld = true;
    this.machine.cpu.yieldSoon();
  }

  release(): void {
    if (this.machine.cpu.halted?.reason === 'breakpoint') this.machine.cpu.resume();
    this.isHeld = false;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  step(): RunResult {
    return this.machine.cpu.step();
  }

  reset(): void {
    this.machine.reset();
  }

  onRunStop(listener: (result: RunResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs until the program exits, locks up, sleeps with nothing to wake it,
   * or reaches the time limit; a BKPT ends the run too unless a debugger
   * is attached, which then takes over.
   */
  async run(): Promise<RunResult> {
    const cpu = this.machine.cpu;
    const slice = this.options.sliceNs ?? 10e6;
    for (;;) {
      if (this.isHeld) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      const left = this.options.limitNs - cpu.nowNs;
      if (left <= 0) return { reason: 'time' };
      const result = cpu.run(Math.min(slice, left));
      const debugged = this.listeners.size > 0;
      if (result.reason === 'observer' || (result.reason === 'breakpoint' && debugged)) {
        this.isHeld = true;
        for (const l of this.listeners) l(result);
        continue;
      }
      if (result.reason !== 'time') {
        for (const l of this.listeners) l(result);
        return result;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
