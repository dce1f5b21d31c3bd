import { describe, expect, it } from 'vitest';
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import {
  CCR_CIRC,
  CCR_DIR,
  CCR_EN,
  CCR_HTIE,
  CCR_MEM2MEM,
  CCR_MINC,
  CCR_PINC,
  CCR_TCIE,
  CCR_TEIE,
  ccrMsize,
  ccrPl,
  ccrPsize,
  DMA,
  Dma,
} from './dma.ts';
import { RecordingLine, TestBus, TestClock } from './test-support.ts';

const RAM = 0x2000_0000;
const PERIPH = 0x4001_3828; // a data register that records what it is given

/** A one-register peripheral: writes are logged, reads pop from a queue. */
class DataRegister implements MemoryMappedDevice {
  readonly name = 'DATA';
  written: { value: number; size: AccessSize }[] = [];
  toRead: number[] = [];
  read(_offset: number, _size: AccessSize): number {
    return this.toRead.shift() ?? 0;
  }
  write(_offset: number, value: number, size: AccessSize): void {
    this.written.push({ value, size });
  }
}

function setup() {
  const clock = new TestClock();
  const bus = new TestBus(RAM, 0x1000);
  const reg = new DataRegister();
  bus.map(PERIPH, 4, reg);
  const irqs = [new RecordingLine(), new RecordingLine(), new RecordingLine()] as const;
  const dma = new Dma({ clock, bus, irqs, hclkHz: 64e6, cyclesPerItem: 4 });
  const isr = () => dma.read(DMA.ISR, 4);
  const flags = (n: number) => (isr() >>> (4 * (n - 1))) & 0xf;
  const program = (n: number, ccr: number, cndtr: number, cpar: number, cmar: number) => {
    dma.write(DMA.CPAR(n), cpar, 4);
    dma.write(DMA.CMAR(n), cmar, 4);
    dma.write(DMA.CNDTR(n), cndtr, 4);
    dma.write(DMA.CCR(n), ccr, 4);
  };
  return { clock, bus, reg, irqs, dma, isr, flags, program };
}

const ITEM_NS = (4 * 1e9) / 64e6;

describe('DMA one-shot transfers', () => {
  it('moves memory to a peripheral on request, counting CNDTR down, HT at half and TC at zero', () => {
    const { clock, bus, reg, dma, flags, program, irqs } = setup();
    bus.ram.set([1, 2, 3, 4], 0);
    program(1, CCR_DIR | CCR_MINC | CCR_TCIE | CCR_HTIE | CCR_EN, 4, PERIPH, RAM);
    clock.runUntilIdle();
    expect(reg.written).toEqual([]); // no request, nothing moves
    dma.setRequest(1, true);
    clock.advanceBy(ITEM_NS);
    expect(dma.read(DMA.CNDTR(1), 4)).toBe(3);
    clock.advanceBy(ITEM_NS);
    expect(dma.read(DMA.CNDTR(1), 4)).toBe(2);
    expect(flags(1)).toBe(0b0101); // GIF | HTIF
    expect(irqs[0].level).toBe(true);
    dma.write(DMA.IFCR, 0b0100, 4);
    expect(irqs[0].level).toBe(false);
    clock.runUntilIdle();
    expect(reg.written.map((w) => w.value)).toEqual([1, 2, 3, 4]);
    expect(dma.read(DMA.CNDTR(1), 4)).toBe(0);
    expect(flags(1)).toBe(0b0011); // GIF | TCIF
    expect(irqs[0].level).toBe(true);
    // One-shot: stops serving but EN stays set until software clears it.
    expect(dma.read(DMA.CCR(1), 4) & CCR_EN).toBe(CCR_EN);
    dma.write(DMA.IFCR, 1, 4); // CGIF1 clears everything for the channel
    expect(flags(1)).toBe(0);
    expect(irqs[0].level).toBe(false);
  });

  it('moves a peripheral to memory with the request level gating each item', () => {
    const { clock, bus, reg, dma, program } = setup();
    reg.toRead = [0xa1, 0xa2];
    program(2, CCR_MINC | CCR_EN, 8, PERIPH, RAM + 0x10);
    dma.setRequest(2, true);
    clock.advanceBy(ITEM_NS);
    dma.setRequest(2, false);
    clock.advanceBy(10 * ITEM_NS);
    expect(dma.read(DMA.CNDTR(2), 4)).toBe(7);
    dma.setRequest(2, true);
    clock.advanceBy(ITEM_NS);
    expect(Array.from(bus.ram.subarray(0x10, 0x12))).toEqual([0xa1, 0xa2]);
  });

  it('copies memory to memory without a request', () => {
    const { clock, bus, flags, program } = setup();
    bus.ram.set([9, 8, 7, 6, 5], 0);
    program(3, CCR_MEM2MEM | CCR_MINC | CCR_PINC | CCR_EN, 5, RAM, RAM + 0x100);
    clock.runUntilIdle();
    expect(Array.from(bus.ram.subarray(0x100, 0x105))).toEqual([9, 8, 7, 6, 5]);
    expect(flags(3) & 0b0010).toBeTruthy();
    expect(clock.nowNs).toBeCloseTo(5 * ITEM_NS);
  });

  it('serves no transfer when CNDTR is zero', () => {
    const { clock, dma, reg, program } = setup();
    program(1, CCR_DIR | CCR_EN, 0, PERIPH, RAM);
    dma.setRequest(1, true);
    clock.runUntilIdle();
    expect(reg.written).toEqual([]);
  });
});

describe('DMA circular mode', () => {
  it('reloads CNDTR and addresses and keeps raising HT and TC', () => {
    const { clock, bus, reg, dma, flags, program } = setup();
    reg.toRead = [1, 2, 3, 4, 5, 6];
    program(1, CCR_CIRC | CCR_MINC | CCR_EN, 4, PERIPH, RAM);
    dma.setRequest(1, true);
    clock.advanceBy(4 * ITEM_NS);
    expect(flags(1) & 0b0110).toBe(0b0110);
    expect(dma.read(DMA.CNDTR(1), 4)).toBe(4);
    dma.write(DMA.IFCR, 0b0110, 4);
    clock.advanceBy(2 * ITEM_NS);
    expect(flags(1)).toBe(0b0101); // HT again after the wrap
    dma.setRequest(1, false);
    expect(Array.from(bus.ram.subarray(0, 4))).toEqual([5, 6, 3, 4]);
  });
});

describe('DMA data sizes (RM0444 §10.4.6)', () => {
  const cases: [string, 0 | 1 | 2, 0 | 1 | 2, number[], number[]][] = [
    // name, PSIZE (source here), MSIZE (destination), source words, expected destination bytes
    ['8 → 8', 0, 0, [0xb0, 0xb1], [0xb0, 0xb1, 0, 0, 0, 0, 0, 0]],
    ['8 → 16 zero-extends', 0, 1, [0xb0, 0xb1], [0xb0, 0, 0xb1, 0, 0, 0, 0, 0]],
    ['8 → 32 zero-extends', 0, 2, [0xb0, 0xb1], [0xb0, 0, 0, 0, 0xb1, 0, 0, 0]],
    ['16 → 8 truncates', 1, 0, [0xb1b0, 0xb3b2], [0xb0, 0xb2, 0, 0, 0, 0, 0, 0]],
    ['32 → 16 truncates', 2, 1, [0xb3b2b1b0, 0xb7b6b5b4], [0xb0, 0xb1, 0xb4, 0xb5, 0, 0, 0, 0]],
    ['16 → 32 zero-extends', 1, 2, [0xb1b0, 0xb3b2], [0xb0, 0xb1, 0, 0, 0xb2, 0xb3, 0, 0]],
  ];
  for (const [name, psize, msize, source, expected] of cases) {
    it(name, () => {
      const { clock, bus, program } = setup();
      const size = [1, 2, 4][psize]!;
      source.forEach((v, i) => {
        for (let b = 0; b < size; b++) bus.ram[0x200 + i * size + b] = (v >>> (8 * b)) & 0xff;
      });
      // MEM2MEM with DIR = 0: the "peripheral" side is the source.
      program(
        1,
        CCR_MEM2MEM | CCR_PINC | CCR_MINC | ccrPsize(psize) | ccrMsize(msize) | CCR_EN,
        2,
        RAM + 0x200,
        RAM + 0x300,
      );
      clock.runUntilIdle();
      expect(Array.from(bus.ram.subarray(0x300, 0x308))).toEqual(expected);
    });
  }

  it('writes the peripheral at PSIZE from memory read at MSIZE', () => {
    const { clock, bus, reg, dma, program } = setup();
    bus.ram.set([0x11, 0x22, 0x33, 0x44], 0);
    program(1, CCR_DIR | CCR_MINC | ccrMsize(0) | ccrPsize(2) | CCR_EN, 2, PERIPH, RAM);
    dma.setRequest(1, true);
    clock.runUntilIdle();
    expect(reg.written).toEqual([
      { value: 0x11, size: 4 },
      { value: 0x22, size: 4 },
    ]);
  });
});

describe('DMA arbitration (RM0444 §10.4.4)', () => {
  it('serves the higher PL first, then the lower channel number, one item at a time', () => {
    const { clock, dma, program } = setup();
    dma.traceService = true;
    program(2, CCR_MEM2MEM | CCR_MINC | ccrPl(1) | CCR_EN, 3, RAM, RAM + 0x100);
    program(5, CCR_MEM2MEM | CCR_MINC | ccrPl(3) | CCR_EN, 2, RAM, RAM + 0x200);
    program(3, CCR_MEM2MEM | CCR_MINC | ccrPl(1) | CCR_EN, 2, RAM, RAM + 0x300);
    clock.runUntilIdle();
    expect(dma.served).toEqual([5, 5, 2, 2, 2, 3, 3]);
  });

  it('lets a higher-priority request overtake a running channel between items', () => {
    const { clock, dma, program } = setup();
    dma.traceService = true;
    program(1, CCR_MEM2MEM | CCR_MINC | ccrPl(0) | CCR_EN, 4, RAM, RAM + 0x100);
    program(7, CCR_DIR | CCR_MINC | ccrPl(2) | CCR_EN, 2, PERIPH, RAM);
    clock.advanceBy(ITEM_NS * 2);
    dma.setRequest(7, true);
    clock.runUntilIdle();
    expect(dma.served).toEqual([1, 1, 7, 7, 1, 1]);
  });
});

describe('DMA transfer errors', () => {
  it('sets TEIF and clears EN on a bus error, and refuses EN until TEIF is cleared', () => {
    const { clock, dma, flags, program, irqs } = setup();
    program(4, CCR_DIR | CCR_TEIE | CCR_EN, 2, 0x4800_0000, RAM);
    dma.setRequest(4, true);
    clock.runUntilIdle();
    expect(flags(4)).toBe(0b1001); // GIF | TEIF
    expect(dma.read(DMA.CCR(4), 4) & CCR_EN).toBe(0);
    expect(dma.read(DMA.CNDTR(4), 4)).toBe(2); // the failed item is not counted
    expect(irqs[2].level).toBe(true);
    dma.write(DMA.CCR(4), CCR_DIR | CCR_TEIE | CCR_EN, 4);
    expect(dma.read(DMA.CCR(4), 4) & CCR_EN).toBe(0);
    expect(dma.misuse.get('enable-while-teif')).toBe(1);
    dma.write(DMA.IFCR, 0b1000 << 12, 4);
    dma.write(DMA.CPAR(4), PERIPH, 4);
    dma.write(DMA.CCR(4), CCR_DIR | CCR_TEIE | CCR_EN, 4);
    expect(dma.read(DMA.CCR(4), 4) & CCR_EN).toBe(CCR_EN);
    clock.runUntilIdle();
    expect(dma.read(DMA.CNDTR(4), 4)).toBe(0);
  });

  it('treats a bad memory address the same way', () => {
    const { clock, flags, program } = setup();
    program(1, CCR_MEM2MEM | CCR_EN, 1, RAM, 0x3000_0000);
    clock.runUntilIdle();
    expect(flags(1) & 0b1000).toBeTruthy();
  });
});

describe('DMA writes while EN = 1 (RM0444 §10.6.3–§10.6.6)', () => {
  it('keeps CNDTR and the read-only CCR fields, takes CPAR/CMAR and the xIE/CIRC bits, and reports each', () => {
    const { dma, program } = setup();
    const seen: string[] = [];
    dma.onMisuse = (kind, n) => seen.push(`${kind}@${n}`);
    program(6, CCR_DIR | CCR_MINC | CCR_EN, 10, PERIPH, RAM);
    dma.write(DMA.CNDTR(6), 3, 4);
    expect(dma.read(DMA.CNDTR(6), 4)).toBe(10);
    dma.write(DMA.CPAR(6), PERIPH + 4, 4);
    expect(dma.read(DMA.CPAR(6), 4)).toBe(PERIPH + 4);
    dma.write(DMA.CMAR(6), RAM + 8, 4);
    dma.write(DMA.CCR(6), CCR_TCIE | CCR_CIRC | ccrPl(3) | CCR_EN, 4);
    const ccr = dma.read(DMA.CCR(6), 4);
    expect(ccr & (CCR_TCIE | CCR_CIRC)).toBe(CCR_TCIE | CCR_CIRC);
    expect(ccr & (CCR_DIR | CCR_MINC)).toBe(CCR_DIR | CCR_MINC);
    expect((ccr >> 12) & 3).toBe(0);
    expect(seen).toEqual([
      'cndtr-write-while-enabled@6',
      'cpar-write-while-enabled@6',
      'cmar-write-while-enabled@6',
      'ccr-write-while-enabled@6',
    ]);
  });

  it('does not count a plain disable as misuse', () => {
    const { dma, program } = setup();
    program(1, CCR_DIR | CCR_MINC | CCR_EN, 10, PERIPH, RAM);
    dma.write(DMA.CCR(1), dma.read(DMA.CCR(1), 4) & ~CCR_EN, 4);
    expect(dma.read(DMA.CCR(1), 4)).toBe(CCR_DIR | CCR_MINC);
    expect(dma.misuse.size).toBe(0);
  });
});

describe('DMA clock gate and interrupt grouping', () => {
  it('ignores writes and does not run without its clock', () => {
    const clock = new TestClock();
    const bus = new TestBus(RAM, 0x100);
    const dma = new Dma({ clock, bus, clockEnabled: false });
    dma.write(DMA.CNDTR(1), 5, 4);
    expect(dma.read(DMA.CNDTR(1), 4)).toBe(0);
    expect(dma.writesWhileUnclocked).toBe(1);
  });

  it('routes channel 1 to line 0, channels 2-3 to line 1, 4-7 to line 2', () => {
    const { clock, program, irqs } = setup();
    for (const n of [3, 7]) program(n, CCR_MEM2MEM | CCR_TCIE | CCR_EN, 1, RAM, RAM + 0x10);
    clock.runUntilIdle();
    expect(irqs.map((l) => l.level)).toEqual([false, true, true]);
  });

  it('has ISR/IFCR/CCR/CNDTR/CPAR/CMAR at the documented offsets and faults elsewhere', () => {
    const { dma } = setup();
    expect([DMA.CCR(1), DMA.CNDTR(1), DMA.CPAR(1), DMA.CMAR(1), DMA.CCR(7)]).toEqual([
      0x08, 0x0c, 0x10, 0x14, 0x80,
    ]);
    expect(() => dma.read(0x18, 4)).toThrow(/bus error/);
    expect(() => dma.read(0x90, 4)).toThrow(/bus error/);
  });
});
