/** The emulator core's public surface: bus, clock, CPU, loader, semihosting, and the generic machine. */
export { type AccessSize, type Bus, BusError, type MemoryMappedDevice } from './bus.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { Cpu, type CpuBus, CpuFault, type CpuOptions, type RunResult } from './cpu.ts';
export {
  ElfError,
  type ElfSegment,
  type ElfSymbol,
  type LoadedElf,
  loadElf,
  type ProgramLoader,
  parseElf,
} from './elf.ts';
export { Exc, ExceptionController } from './exceptions.ts';
export { type InterruptLine, unconnectedLine } from './irq.ts';
export { FLASH_BASE, FLASH_SIZE, Machine, type MachineOptions, SRAM_BASE, SRAM_SIZE } from './machine.ts';
export { type OutputStream, Semihosting, type SemihostingOptions } from './semihosting.ts';
export { type MapMemoryOptions, type MemoryRegion, SystemBus } from './system-bus.ts';
export type { SysTickOptions } from './systick.ts';
export { VirtualClock } from './virtual-clock.ts';
