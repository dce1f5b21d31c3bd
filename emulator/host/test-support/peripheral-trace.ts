/**
 * What a firmware and its hosts can see of a virtual board, recorded for a
 * differential test of the peripherals' two modes ('per-character' and
 * 'bulk', chip.ts): every register access the core makes (value and core
 * cycle), every interrupt line change (virtual time) and handler entry and
 * exit (core cycle), every byte on the two TX wires (its time), and SRAM
 * whenever the caller checks it.
 */
import type { VirtualBoard } from '../virtual-board.ts';

const PERIPHERALS = 0x4000_0000;

export interface PeripheralTrace {
  /** Register accesses by the core: "cycle r|w address value". */
  readonly registers: string[];
  /** "time line irq level" and "cycle enter|exit exception". */
  readonly interrupts: string[];
  /** "time byte" for USART2 (to the host) and USART1 (to the peer). */
  readonly usart2: string[];
  readonly usart1: string[];
  /** SRAM checksums taken by `checkSram`, and SRAM at the end. */
  readonly sram: string[];
  /** The strict board's reports so far ("time rule peripheral count message"), which it then forgets. */
  takeStrictReports(): string[];
  /** Takes a checksum of SRAM now (after the peripherals are brought up to now). */
  checkSram(label: string): void;
  /** SRAM as it is now. */
  sramCopy(): Uint8Array;
}

/** Records `vb` from now on (before it runs: it wraps the bus, the NVIC observer and USART2's listener). */
export function tracePeripherals(vb: VirtualBoard): PeripheralTrace {
  const { chip } = vb;
  const cpu = chip.cpu;
  const clock = chip.clock;
  const registers: string[] = [];
  const interrupts: string[] = [];
  const usart2: string[] = [];
  const usart1: string[] = [];
  const sram: string[] = [];
  // The core's accesses only: a DMA's (the per-character path's items) come from a clock callback.
  const read = chip.bus.read.bind(chip.bus);
  chip.bus.read = (address, size) => {
    const value = read(address, size);
    if (address >>> 0 >= PERIPHERALS && clock.firing === null)
      registers.push(`${cpu.cycles} r ${address.toString(16)} ${value}`);
    return value;
  };
  const write = chip.bus.write.bind(chip.bus);
  chip.bus.write = (address, value, size) => {
    if (address >>> 0 >= PERIPHERALS && clock.firing === null)
      registers.push(`${cpu.cycles} w ${address.toString(16)} ${value}`);
    write(address, value, size);
  };
  cpu.nvic.observer = {
    line: (irq, high) => interrupts.push(`${clock.nowNs} line ${irq} ${high ? 1 : 0}`),
    active: (exception, on) => interrupts.push(`${cpu.cycles} ${on ? 'enter' : 'exit'} ${exception}`),
  };
  const toHost = chip.usart2.onTransmit;
  chip.usart2.onTransmit = (byte, timeNs) => {
    usart2.push(`${timeNs} ${byte}`);
    toHost?.(byte, timeNs);
  };
  vb.peer.onByte((byte, timeNs) => usart1.push(`${timeNs} ${byte}`));
  const sramCopy = () => {
    chip.settlePeripherals();
    return chip.sram.slice();
  };
  return {
    registers,
    interrupts,
    usart2,
    usart1,
    sram,
    checkSram(label) {
      const bytes = sramCopy();
      let h = 0x811c9dc5;
      for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
      sram.push(`${label} ${(h >>> 0).toString(16)}`);
    },
    sramCopy,
    takeStrictReports() {
      const reports = vb.strictReports.map(
        (r) => `${r.timeNs} ${r.rule} ${r.peripheral} ${r.count} ${r.message}`,
      );
      chip.strict.clear();
      return reports;
    },
  };
}

/** The first place two traces part, with some lines of context; undefined if they are equal. */
export function firstDifference(a: readonly string[], b: readonly string[]): string | undefined {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  if (i === n && a.length === b.length) return undefined;
  const from = Math.max(0, i - 3);
  return [
    `line ${i} of ${a.length} / ${b.length}:`,
    ...a.slice(from, i + 4).map((l, j) => `  ${from + j === i ? '>' : ' '} ${l}`),
    '  ---',
    ...b.slice(from, i + 4).map((l, j) => `  ${from + j === i ? '>' : ' '} ${l}`),
  ].join('\n');
}
