/**
 * Signal traces of the virtual board (or the bare core) as VCD, in virtual
 * time: `traceBoard(board, { sink })` records until `stop()`. The signals
 * are listed in chip-probes.ts, plus `led.ld4` on the board.
 */
import type { Cpu } from '../../core/cpu.ts';
import type { VirtualBoard } from '../../host/virtual-board.ts';
import { chipSignals, coreSignals, probeChip, probeCore } from './chip-probes.ts';
import { TraceRecorder, type TraceWindow } from './recorder.ts';

export interface TraceOptions extends TraceWindow {
  /** Where the VCD text goes, in pieces, as it is made. */
  readonly sink: (text: string) => void;
  /** Patterns of the signals to record ("usart1.*", "dma.ch3.*", "led.ld4"); default all. */
  readonly signals?: readonly string[];
}

export interface Trace {
  /** Ends the trace: writes what is due and detaches every probe. */
  stop(): void;
}

export function traceBoard(board: VirtualBoard, options: TraceOptions): Trace {
  const chip = board.chip;
  const rec = new TraceRecorder([...chipSignals(), { name: 'led.ld4', initial: board.led ? 1 : 0 }], {
    ...options,
    nowNs: () => chip.clock.nowNs,
    comment: 'dma-bridge virtual Nucleo-G071RB, virtual time',
  });
  const detachChip = probeChip(chip, rec);
  const detachLed = board.onLedChange((lit, timeNs) => rec.set('led.ld4', lit ? 1 : 0, timeNs));
  return {
    stop() {
      detachChip();
      detachLed();
      rec.stop();
    },
  };
}

/** The bare core's interrupt lines (run-elf's machine): `irqNames` maps IRQ numbers to the names shown. */
export function traceCore(cpu: Cpu, options: TraceOptions & { irqNames?: Record<number, string> }): Trace {
  const names = options.irqNames ?? Object.fromEntries(Array.from({ length: 32 }, (_, n) => [n, `IRQ${n}`]));
  const rec = new TraceRecorder(coreSignals(names), {
    ...options,
    nowNs: () => cpu.nowNs,
    comment: 'dma-bridge Cortex-M0+ machine, virtual time',
  });
  const detach = probeCore(cpu, rec, names);
  return {
    stop() {
      detach();
      rec.stop();
    },
  };
}
