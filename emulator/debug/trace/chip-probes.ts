/**
 * The signals a trace of the STM32G071 records, and the probes that feed
 * them: each peripheral's observer hook, set only while a trace runs.
 *
 *   usart1.tx usart1.rx usart2.tx usart2.rx   the lines, idle high; each
 *       character drawn bit by bit at its bit time (an RX character the
 *       receiver makes nothing of, from a sender at another rate, is x)
 *   dma.chN.req .en .tc .ht .te               channel N's (1..7) request input,
 *       CCR.EN and its ISR flags
 *   nvic.NAME.line .active                    the interrupt lines the chip wires
 *       (DMA1 channels, USART1, USART2) and whether their handler runs;
 *       nvic.SysTick.active
 *   iwdg.reload                               toggles at each reload of the counter
 */
import type { Cpu } from '../../core/cpu.ts';
import { Exc } from '../../core/exceptions.ts';
import type { Stm32g071 } from '../../stm32g071/chip.ts';
import { IRQ } from '../../stm32g071/chip.ts';
import { DMA, DMA_CHANNELS } from '../../stm32g071/dma.ts';
import type { Usart } from '../../stm32g071/usart.ts';
import type { TraceRecorder } from './recorder.ts';
import type { VcdValue } from './vcd-writer.ts';

export interface SignalSpec {
  readonly name: string;
  readonly initial: VcdValue;
}

const IRQ_NAMES: Readonly<Record<number, string>> = {
  [IRQ.DMA1_CHANNEL1]: 'DMA1_Channel1',
  [IRQ.DMA1_CHANNEL2_3]: 'DMA1_Channel2_3',
  [IRQ.DMA1_CH4_7_DMAMUX1_OVR]: 'DMA1_Ch4_7',
  [IRQ.USART1]: 'USART1',
  [IRQ.USART2]: 'USART2',
};

const DMA_SIGNALS = ['req', 'en', 'tc', 'ht', 'te'] as const;

export function chipSignals(): SignalSpec[] {
  const out: SignalSpec[] = [];
  for (const u of ['usart1', 'usart2']) {
    out.push({ name: `${u}.tx`, initial: 1 }, { name: `${u}.rx`, initial: 1 });
  }
  for (let n = 1; n <= DMA_CHANNELS; n++)
    for (const s of DMA_SIGNALS) out.push({ name: `dma.ch${n}.${s}`, initial: 0 });
  out.push(...coreSignals());
  out.push({ name: 'iwdg.reload', initial: 0 });
  return out;
}

export function coreSignals(irqNames: Readonly<Record<number, string>> = IRQ_NAMES): SignalSpec[] {
  const out: SignalSpec[] = [];
  for (const name of Object.values(irqNames)) {
    out.push({ name: `nvic.${name}.line`, initial: 0 }, { name: `nvic.${name}.active`, initial: 0 });
  }
  out.push({ name: 'nvic.SysTick.active', initial: 0 });
  return out;
}

/** The bits of a character on a line: start (0), the word LSB first, stop (1). */
function characterEdges(word: number, startNs: number, bitNs: number, wordBits: number) {
  const edges: { value: VcdValue; timeNs: number }[] = [{ value: 0, timeNs: startNs }];
  for (let i = 0; i < wordBits; i++) {
    edges.push({ value: ((word >>> i) & 1) as VcdValue, timeNs: startNs + (1 + i) * bitNs });
  }
  edges.push({ value: 1, timeNs: startNs + (1 + wordBits) * bitNs });
  return edges;
}

function probeUsart(usart: Usart, prefix: string, rec: TraceRecorder): () => void {
  usart.lineObserver = {
    tx: (word, startNs, bitNs, wordBits) =>
      rec.schedule(`${prefix}.tx`, characterEdges(word, startNs, bitNs, wordBits)),
    rx: (word, startNs, frameNs, wordBits) => {
      const name = `${prefix}.rx`;
      if (word === undefined) {
        rec.schedule(name, [
          { value: 'x', timeNs: startNs },
          { value: 1, timeNs: startNs + frameNs },
        ]);
      } else {
        rec.schedule(name, characterEdges(word, startNs, frameNs / (wordBits + 2), wordBits));
      }
    },
  };
  return () => {
    usart.lineObserver = null;
  };
}

/** NVIC lines and handlers of the core; `irqNames` says which lines to show. */
export function probeCore(
  cpu: Cpu,
  rec: TraceRecorder,
  irqNames: Readonly<Record<number, string>> = IRQ_NAMES,
): () => void {
  cpu.nvic.observer = {
    line: (irq, high) => {
      const name = irqNames[irq];
      if (name) rec.set(`nvic.${name}.line`, high ? 1 : 0);
    },
    // Entry and return happen in the core, whose time runs ahead of the clock's within a slice.
    active: (exception, on) => {
      const name = exception === Exc.SYSTICK ? 'SysTick' : irqNames[exception - Exc.IRQ0];
      if (name) rec.set(`nvic.${name}.active`, on ? 1 : 0, cpu.nowNs);
    },
  };
  return () => {
    cpu.nvic.observer = null;
  };
}

export function probeChip(chip: Stm32g071, rec: TraceRecorder): () => void {
  const detach = [
    probeUsart(chip.usart1, 'usart1', rec),
    probeUsart(chip.usart2, 'usart2', rec),
    probeCore(chip.cpu, rec),
  ];
  const dma = chip.dma1;
  let last = '';
  const sampleDma = () => {
    const isr = dma.read(DMA.ISR, 4);
    let en = 0;
    let req = 0;
    for (let n = 1; n <= DMA_CHANNELS; n++) {
      if ((dma.read(DMA.CCR(n), 4) & 1) !== 0) en |= 1 << n;
      if (dma.requestLevel(n)) req |= 1 << n;
    }
    // Most calls change nothing traced.
    const key = `${isr},${en},${req}`;
    if (key === last) return;
    last = key;
    for (let n = 1; n <= DMA_CHANNELS; n++) {
      const flags = (isr >>> (4 * (n - 1))) & 0xf;
      rec.set(`dma.ch${n}.req`, (req >>> n) & 1 ? 1 : 0);
      rec.set(`dma.ch${n}.en`, (en >>> n) & 1 ? 1 : 0);
      rec.set(`dma.ch${n}.tc`, (flags >>> 1) & 1 ? 1 : 0);
      rec.set(`dma.ch${n}.ht`, (flags >>> 2) & 1 ? 1 : 0);
      rec.set(`dma.ch${n}.te`, (flags >>> 3) & 1 ? 1 : 0);
    }
  };
  dma.onStateChange = sampleDma;
  sampleDma();
  let reload: VcdValue = 0;
  chip.iwdg.onReload = () => {
    reload = reload === 0 ? 1 : 0;
    rec.set('iwdg.reload', reload);
  };
  return () => {
    for (const d of detach) d();
    dma.onStateChange = null;
    chip.iwdg.onReload = null;
  };
}
