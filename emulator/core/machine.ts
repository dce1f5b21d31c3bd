/**
 * A bare Cortex-M0+ machine for test programs: 128 KiB flash at 0x08000000
 * (aliased at 0 for the vector table), 36 KiB SRAM at 0x20000000, no
 * peripherals beyond the core's own, semihosting for output and exit.
 */
import { Cpu, type RunResult } from './cpu.ts';
import { type LoadedElf, loadElf } from './elf.ts';
import { type OutputStream, Semihosting } from './semihosting.ts';
import { SystemBus } from './system-bus.ts';
import { VirtualClock } from './virtual-clock.ts';

export const FLASH_BASE = 0x08000000;
export const FLASH_SIZE = 128 * 1024;
export const SRAM_BASE = 0x20000000;
export const SRAM_SIZE = 36 * 1024;

export interface MachineOptions {
  readonly frequencyHz?: number;
  readonly onOutput?: (text: string, stream: OutputStream) => void;
}

export class Machine {
  readonly clock = new VirtualClock();
  readonly bus = new SystemBus();
  readonly flash = new Uint8Array(FLASH_SIZE);
  readonly sram = new Uint8Array(SRAM_SIZE);
  readonly semihosting: Semihosting;
  readonly cpu: Cpu;

  constructor(options: MachineOptions = {}) {
    this.bus.mapMemory(FLASH_BASE, this.flash, { writable: false, name: 'flash' });
    this.bus.mapAlias(0, FLASH_SIZE, FLASH_BASE);
    this.bus.mapMemory(SRAM_BASE, this.sram, { writable: true, name: 'sram' });
    this.semihosting = new Semihosting({
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      nowNs: () => this.cpu.nowNs,
    });
    this.cpu = new Cpu({
      bus: this.bus,
      clock: this.clock,
      semihosting: this.semihosting,
      frequencyHz: options.frequencyHz ?? 16_000_000,
    });
  }

  /** Load an executable into flash/SRAM and reset the core. */
  loadElf(bytes: Uint8Array): LoadedElf {
    const elf = loadElf(bytes, this.bus);
    this.cpu.reset();
    return elf;
  }

  reset(): void {
    this.cpu.reset();
  }

  run(maxNs: number): RunResult {
    return this.cpu.run(maxNs);
  }
}
