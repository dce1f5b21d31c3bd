import { describe, expect, it } from 'vitest';
import type { RunResult } from '../core/cpu.ts';
import type { InterruptLine } from '../core/irq.ts';
import { type CpuCore, createStm32g071, FLASH_BASE, IRQ, SRAM_BASE } from './chip.ts';
import { CCR_DIR, CCR_EN, CCR_MINC, CCR_TCIE, DMA } from './dma.ts';
import { DMAMUX, DMAREQ } from './dmamux.ts';
import { RCC } from './rcc.ts';
import { CR1_RE, CR1_TE, CR1_UE, CR3_DMAT, USART } from './usart.ts';

/** A stand-in core: records interrupt line levels and its clock. */
class FakeCpu implements CpuCore {
  frequencyHz = 0;
  resets = 0;
  onResetRequest: (() => void) | null = null;
  readonly levels = new Map<number, boolean>();
  readonly nvic = {
    line: (n: number): InterruptLine => ({ set: (level: boolean) => this.levels.set(n, level) }),
  };
  reset(): void {
    this.resets++;
  }
  run(): RunResult {
    return { reason: 'idle' };
  }
  yieldSoon(): void {}
  readonly fetchFaults = new Map<number, string>();
  setFetchFault(base: number, _size: number, reason: string | null): void {
    if (reason === null) this.fetchFaults.delete(base);
    else this.fetchFaults.set(base, reason);
  }
}

function setup() {
  const chip = createStm32g071({ cpu: () => new FakeCpu(), uid: [1, 2, 3], pllLockNs: 1000 });
  const w = (a: number, v: number) => chip.bus.write(a, v, 4);
  const r = (a: number) => chip.bus.read(a, 4);
  return { chip, w, r };
}

const RCC_BASE = 0x4002_1000;
const GPIOC = 0x5000_0800;
const U1 = 0x4001_3800;

/** PC4 (USART1 TX) and PC5 (RX) in alternate-function mode, AF1, as the firmware sets them. */
function routeUsart1Pins(w: (a: number, v: number) => void, r: (a: number) => number): void {
  w(RCC_BASE + RCC.IOPENR, r(RCC_BASE + RCC.IOPENR) | (1 << 2));
  w(GPIOC, (r(GPIOC) & ~(0xf << 8)) | (0b1010 << 8));
  w(GPIOC + 0x20, (r(GPIOC + 0x20) & ~(0xff << 16)) | (0x11 << 16));
}
const DMA1 = 0x4002_0000;
const MUX = 0x4002_0800;

describe('STM32G071 chip wiring', () => {
  it('maps flash at 0x08000000 and 0, SRAM, system memory, and faults elsewhere', () => {
    const { chip, r, w } = setup();
    chip.loadFlash(new Uint8Array([0x00, 0x90, 0x00, 0x20]));
    expect(r(FLASH_BASE)).toBe(0x2000_9000);
    expect(r(0)).toBe(0x2000_9000);
    w(SRAM_BASE + 36 * 1024 - 4, 0xdeadbeef);
    expect(r(SRAM_BASE + 36 * 1024 - 4)).toBe(0xdeadbeef);
    expect(() => r(SRAM_BASE + 36 * 1024)).toThrow(/bus error/);
    expect(r(0x1fff_7590)).toBe(1);
    expect(chip.bus.read(0x1fff_75e0, 2)).toBe(128);
    expect(r(0x4001_5800) & 0xfff).toBe(0x460);
    expect(() => r(0x4000_0000)).toThrow(/bus error/); // TIM2: not modelled
    expect(() => w(FLASH_BASE, 0)).toThrow(/bus error/);
    expect(r(0x4000_7000)).toBe(0); // PWR: unclocked
    w(RCC_BASE + RCC.APBENR1, 1 << 28);
    expect(r(0x4000_7000)).toBe(0x200); // PWR: plain registers
  });

  it('returns USART1 to its reset values when software pulses APBRSTR2.USART1RST', () => {
    const { w, r } = setup();
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(U1 + USART.BRR, 556);
    w(U1 + USART.CR1, CR1_UE | CR1_TE);
    w(RCC_BASE + RCC.APBRSTR2, 1 << 14);
    w(RCC_BASE + RCC.APBRSTR2, 0);
    expect(r(U1 + USART.BRR)).toBe(0);
    expect(r(U1 + USART.CR1)).toBe(0);
  });

  it('drives the core clock from HCLK and follows the 64 MHz PLL setup', () => {
    const { chip, w, r } = setup();
    expect(chip.cpu.frequencyHz).toBe(16e6);
    w(0x4002_2000, (r(0x4002_2000) & ~7) | 2);
    w(RCC_BASE + RCC.PLLCFGR, 2 | (8 << 8) | (1 << 29) | (1 << 28));
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(1000);
    w(RCC_BASE + RCC.CFGR, 2);
    expect(chip.cpu.frequencyHz).toBe(64e6);
    expect(chip.flashInterface.latencyTooLow(chip.rcc.hclkHz)).toBe(false);
    expect(chip.usart1.frameNs()).toBeUndefined(); // still gated off
  });

  it('gates USART1 with APBENR2 and gives it its kernel clock', () => {
    const { chip, w, r } = setup();
    w(U1 + USART.BRR, 139);
    expect(r(U1 + USART.BRR)).toBe(0);
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(U1 + USART.BRR, 139);
    expect(chip.usart1.frameNs()).toBe((10 * 139 * 1e9) / 16e6);
  });

  it('sends a buffer from SRAM through DMA1 channel 1, DMAMUX request 51, and USART1, ending with TC', () => {
    const { chip, w, r } = setup();
    routeUsart1Pins(w, r);
    const sent: number[] = [];
    chip.usart1.onTransmit = (b) => sent.push(b);
    w(RCC_BASE + RCC.AHBENR, 1);
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    chip.sram.set([0x68, 0x69, 0x21], 0x100);
    w(MUX + DMAMUX.CCR(0), DMAREQ.USART1_TX);
    w(DMA1 + DMA.CPAR(1), U1 + USART.TDR);
    w(DMA1 + DMA.CMAR(1), SRAM_BASE + 0x100);
    w(DMA1 + DMA.CNDTR(1), 3);
    w(DMA1 + DMA.CCR(1), CCR_DIR | CCR_MINC | CCR_TCIE | CCR_EN);
    w(U1 + USART.BRR, 139);
    w(U1 + USART.CR3, CR3_DMAT);
    w(U1 + USART.CR1, CR1_UE | CR1_TE | CR1_RE);
    const cpu = chip.cpu as FakeCpu;
    chip.clock.advanceBy(1_000_000);
    expect(sent).toEqual([0x68, 0x69, 0x21]);
    expect(cpu.levels.get(IRQ.DMA1_CHANNEL1)).toBe(true);
    expect(r(U1 + USART.ISR) & (1 << 6)).toBeTruthy();
  });

  it('receives into SRAM with circular DMA from USART1 RX', () => {
    const { chip, w, r } = setup();
    routeUsart1Pins(w, r);
    w(RCC_BASE + RCC.AHBENR, 1);
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(MUX + DMAMUX.CCR(0), DMAREQ.USART1_RX);
    w(DMA1 + DMA.CPAR(1), U1 + USART.RDR);
    w(DMA1 + DMA.CMAR(1), SRAM_BASE + 0x200);
    w(DMA1 + DMA.CNDTR(1), 4);
    w(DMA1 + DMA.CCR(1), CCR_MINC | (1 << 5) | CCR_EN);
    w(U1 + USART.BRR, 139);
    w(U1 + USART.CR3, 1 << 6);
    w(U1 + USART.CR1, CR1_UE | CR1_RE);
    for (const b of [1, 2, 3, 4, 5, 6]) chip.usart1.receive(b);
    chip.clock.advanceBy(1_000_000);
    expect(Array.from(chip.sram.subarray(0x200, 0x204))).toEqual([5, 6, 3, 4]);
    expect(chip.bus.read(DMA1 + DMA.CNDTR(1), 4)).toBe(2);
  });

  it('resets peripherals and the core, keeping flash and SRAM, and records the reset cause', () => {
    const { chip, w, r } = setup();
    chip.loadFlash(new Uint8Array([1, 2, 3, 4]));
    w(SRAM_BASE, 42);
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(RCC_BASE + RCC.CSR, 1 << 23);
    chip.reset('software');
    expect((chip.cpu as FakeCpu).resets).toBe(1);
    expect(r(RCC_BASE + RCC.APBENR2)).toBe(0);
    expect(r(RCC_BASE + RCC.CSR) >>> 24).toBe(0x10); // SFTRSTF
    expect(r(FLASH_BASE)).toBe(0x04030201);
    expect(r(SRAM_BASE)).toBe(42);
  });
});
