/**
 * What a debugger front end (the GDB stub) needs of a target: registers,
 * side-effect-free memory reads, breakpoints, watchpoints and run control.
 * The GDB protocol lives in gdb/; the core and board live behind this.
 */

export type WatchKind = 'write' | 'read' | 'access';

/** Why the target stopped. */
export type StopReason =
  /** Asked to stop (Ctrl-C), or halted when the debugger attached. */
  | { readonly kind: 'interrupt' }
  /** A breakpoint at the current pc. */
  | { readonly kind: 'breakpoint' }
  /** One instruction (or exception entry) done. */
  | { readonly kind: 'step' }
  /** An access to a watched range; the access's instruction has completed. */
  | { readonly kind: 'watch'; readonly watch: WatchKind; readonly address: number }
  /** A BKPT instruction in the program. */
  | { readonly kind: 'bkpt' }
  /** The core locked up (a fault in HardFault). */
  | { readonly kind: 'lockup'; readonly fault: string }
  /** The program exited (semihosting). */
  | { readonly kind: 'exit'; readonly code: number };

export interface DebugTarget {
  /** Register values in target-description order (see cortex-m-registers.ts). */
  readRegisters(): number[];
  /** Writes register `n`; false if there is no such register. */
  writeRegister(n: number, value: number): boolean;
  /** Debugger read: no side effects on peripherals. Throws when nothing answers at an address. */
  readMemory(address: number, length: number): Uint8Array;
  /** Debugger write (flash included, as a programmer would). Throws when nothing answers. */
  writeMemory(address: number, bytes: Uint8Array): void;
  addBreakpoint(address: number): void;
  removeBreakpoint(address: number): void;
  addWatchpoint(kind: WatchKind, address: number, length: number): void;
  removeWatchpoint(kind: WatchKind, address: number, length: number): void;
  /** Whether the core is stopped under the debugger's control. */
  readonly halted: boolean;
  /** Stops at the next instruction boundary; `onStop` is told. */
  halt(): void;
  /** Runs until a breakpoint, watchpoint, halt() or the program's end; `onStop` is told. */
  resume(): void;
  /** Crosses one instruction boundary and says why it stopped. Only while halted. */
  step(): StopReason;
  /** System reset; the core stays halted at the reset vector. */
  reset(): void;
  /** Called when the target stops by itself or on halt(). */
  onStop: ((reason: StopReason) => void) | null;
  /** Ends debugging: breakpoints and watchpoints removed, the core left running. */
  detach(): void;
  /** Text for `monitor` commands other than reset; undefined if unknown. */
  monitor?(command: string): string | undefined;
}
