/**
 * What the debug target needs of whatever runs the core (the virtual
 * board's loop, or run-elf's): a way to hold the whole machine at an
 * instruction boundary, with its virtual time standing still, and to let
 * it go again.
 */
import type { Cpu, RunResult } from '../core/cpu.ts';
import type { SystemBus } from '../core/system-bus.ts';

export interface DebugHost {
  readonly cpu: Cpu;
  readonly bus: SystemBus;
  /** Whether the machine is held (not running, time standing still). */
  readonly held: boolean;
  /** Holds the machine before its next slice: nothing runs, no virtual time passes. */
  hold(): void;
  /** Lets a held machine run on (after a BKPT halt, past the BKPT). */
  release(): void;
  /** With the machine held: crosses one instruction boundary (peripherals' time moves with it). */
  step(): RunResult;
  /** System reset (the NRST pin); a held machine stays held, at the reset vector. */
  reset(): void;
  /**
   * Called when a run stops by itself and the machine holds itself: the
   * core's observer stopped it, or it halted (exit, BKPT, lockup).
   * Returns an unsubscribe function.
   */
  onRunStop(listener: (result: RunResult) => void): () => void;
}
