/**
 * The strict board's rules on the chip model alone (the firmware-level
 * proofs, one broken firmware per rule, are in test/strict-board.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../core/cpu.ts';
import { type CpuCore, createStm32g071 } from './chip.ts';
import { DMAMUX } from './dmamux.ts';
import { flashWaitStates } from './flash-interface.ts';
import { RCC } from './rcc.ts';
import { CR1_M0, CR1_M1, CR1_OVER8, CR1_TE, CR1_UE, USART } from './usart.ts';

class FakeCpu implements CpuCore {
  frequencyHz = 0;
  onResetRequest: (() => void) | null = null;
  readonly nvic = { line: () => ({ set: () => {} }) };
  readonly fetchFaults = new Map<number, string>();
  reset(): void {}
  run(): RunResult {
    return { reason: 'idle' };
  }
  yieldSoon(): void {}
  setFetchFault(base: number, _size: number, reason: string | null): void {
    if (reason === null) this.fetchFaults.delete(base);
    else this.fetchFaults.set(base, reason);
  }
}

const RCC_BASE = 0x4002_1000;
const FLASH_ACR = 0x4002_2000;

function setup() {
  const chip = createStm32g071({ cpu: () => new FakeCpu(), pllLockNs: 1000 });
  const w = (a: number, v: number) => chip.bus.write(a, v, 4);
  const r = (a: number) => chip.bus.read(a, 4);
  const rules = () => chip.strict.reports.map((x) => x.rule);
  return { chip, w, r, rules, cpu: chip.cpu as FakeCpu };
}

/** PLLCFGR for HSI16 / m × n / r with only R enabled. */
const pllcfgr = (m: number, n: number, rField: number) =>
  2 | ((m - 1) << 4) | (n << 8) | (1 << 28) | (rField << 29);

describe('strict rules on the chip', () => {
  it('reads an unclocked peripheral as 0, drops the write, and reports both', () => {
    const { w, r, chip } = setup();
    w(0x5000_0000, 0); // GPIOA MODER, clock off
    expect(r(0x5000_0000)).toBe(0);
    w(RCC_BASE + RCC.IOPENR, 1);
    expect(r(0x5000_0000)).toBe(0xebff_ffff); // the write was dropped: still the reset value
    expect(chip.strict.reports.map((x) => [x.rule, x.peripheral, x.message.slice(0, 44)])).toEqual([
      ['unclocked-access', 'GPIOA', 'write at 0x50000000 while RCC_IOPENR.GPIOAEN'],
      ['unclocked-access', 'GPIOA', 'read at 0x50000000 while RCC_IOPENR.GPIOAEN '],
    ]);
  });

  it('keeps USART1 TX off its wire until PC4 is in AF1, and says which pin and why', () => {
    const { chip, w, r, rules } = setup();
    const sent: number[] = [];
    chip.usart1.onTransmit = (b) => sent.push(b);
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(RCC_BASE + RCC.IOPENR, 1 << 2);
    w(0x4001_3800 + USART.BRR, 139);
    w(0x4001_3800 + USART.CR1, CR1_UE | CR1_TE);
    w(0x4001_3800 + USART.TDR, 0x41);
    chip.clock.advanceBy(200_000);
    expect(sent).toEqual([]);
    expect(rules()).toEqual(['pin-not-routed']);
    expect(chip.strict.reports[0]!.message).toMatch(/^PC4 is in analog mode \(MODER4 = 11\)/);
    w(0x5000_0800, (r(0x5000_0800) & ~(3 << 8)) | (2 << 8)); // AF mode, but AF0
    w(0x4001_3800 + USART.TDR, 0x42);
    chip.clock.advanceBy(200_000);
    expect(chip.strict.reports[1]!.message).toMatch(/^PC4 selects AF0 \(AFR\), not AF1/);
    w(0x5000_0820, 1 << 16);
    w(0x4001_3800 + USART.TDR, 0x43);
    chip.clock.advanceBy(200_000);
    expect(sent).toEqual([0x43]);
  });

  it('fails fetches from flash while LATENCY is below what HCLK needs, and lets them work again once raised', () => {
    const { chip, w, r, cpu, rules } = setup();
    w(RCC_BASE + RCC.PLLCFGR, pllcfgr(1, 8, 1));
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(2000);
    w(RCC_BASE + RCC.CFGR, 2); // SYSCLK = PLLRCLK, 64 MHz, with LATENCY still 0
    expect(chip.rcc.hclkHz).toBe(64e6);
    expect(rules()).toEqual(['flash-latency']);
    expect(cpu.fetchFaults.get(0x0800_0000)).toMatch(/LATENCY = 0 wait states at HCLK 64 MHz, which needs 2/);
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 1);
    expect(cpu.fetchFaults.size).toBe(2); // 1 is still too few above 48 MHz
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 2);
    expect(cpu.fetchFaults.size).toBe(0);
  });

  it('follows RM0444 §3.3.4 wait-state table in both voltage ranges', () => {
    expect([24e6, 24e6 + 1, 48e6, 48e6 + 1, 64e6, 64e6 + 1].map((hz) => flashWaitStates(hz, 1))).toEqual([
      0,
      1,
      1,
      2,
      2,
      undefined,
    ]);
    expect([8e6, 8e6 + 1, 16e6, 16e6 + 1].map((hz) => flashWaitStates(hz, 2))).toEqual([0, 1, 1, undefined]);
  });

  it('in voltage range 2 (PWR_CR1.VOS = 10) needs a wait state at 16 MHz and fails fetches above 16 MHz', () => {
    const { chip, w, r, cpu, rules } = setup();
    w(RCC_BASE + RCC.APBENR1, 1 << 28); // PWREN
    const PWR_CR1 = 0x4000_7000;
    w(PWR_CR1, (r(PWR_CR1) & ~(3 << 9)) | (2 << 9)); // range 2, at HSISYS 16 MHz with LATENCY 0
    expect(cpu.fetchFaults.get(0x0800_0000)).toMatch(
      /LATENCY = 0 wait states at HCLK 16 MHz, which needs 1 in range 2/,
    );
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 1);
    expect(cpu.fetchFaults.size).toBe(0);
    w(RCC_BASE + RCC.PLLCFGR, pllcfgr(1, 8, 1));
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(2000);
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 2);
    w(RCC_BASE + RCC.CFGR, 2); // 64 MHz in range 2
    expect(cpu.fetchFaults.get(0x0800_0000)).toMatch(/HCLK 64 MHz is above voltage range 2's 16 MHz maximum/);
    expect(new Set(rules())).toEqual(new Set(['flash-latency']));
  });

  for (const [what, cfg, why] of [
    ['a reserved PLLR', pllcfgr(1, 8, 0), /PLLR = 0 is reserved/],
    ['a reserved PLLN', pllcfgr(1, 7, 1), /PLLN = 7 is reserved/],
    ['a VCO input under 2.66 MHz', pllcfgr(8, 20, 1), /VCO input .* is 2 MHz, outside 2.66–16 MHz/],
    ['a VCO under 64 MHz', pllcfgr(4, 8, 1), /the VCO runs at 32 MHz, outside 64–344 MHz/],
    ['PLLRCLK above 64 MHz', pllcfgr(1, 16, 1), /PLLRCLK would run at 128 MHz, above its 64 MHz maximum/],
  ] as const) {
    it(`never locks the PLL with ${what}`, () => {
      const { chip, w, r, rules } = setup();
      w(RCC_BASE + RCC.PLLCFGR, cfg);
      w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
      chip.clock.advanceBy(100_000);
      expect(r(RCC_BASE + RCC.CR) & (1 << 25)).toBe(0);
      expect(rules()).toEqual(['pll-config']);
      expect(chip.strict.reports[0]!.message).toMatch(why);
    });
  }

  it('locks the PLL the firmware uses: HSI16 / 1 × 8 / 2', () => {
    const { chip, w, r, rules } = setup();
    w(RCC_BASE + RCC.PLLCFGR, pllcfgr(1, 8, 1));
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(2000);
    expect(r(RCC_BASE + RCC.CR) & (1 << 25)).not.toBe(0);
    expect(rules()).toEqual([]);
  });

  it('keeps a PLL output off when it is enabled beyond its limits after PLLON (the firmware order), so SYSCLK stays put', () => {
    const { chip, w, r, rules } = setup();
    const withoutR = pllcfgr(1, 16, 1) & ~(1 << 28); // VCO 256 MHz: R = 2 would give 128 MHz
    w(RCC_BASE + RCC.PLLCFGR, withoutR);
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(2000);
    expect(r(RCC_BASE + RCC.CR) & (1 << 25)).not.toBe(0); // the VCO itself is in limits: locked
    w(RCC_BASE + RCC.PLLCFGR, withoutR | (1 << 28));
    expect(r(RCC_BASE + RCC.PLLCFGR) & (1 << 28)).toBe(0);
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 2);
    w(RCC_BASE + RCC.CFGR, 2); // SW = PLLRCLK
    chip.clock.advanceBy(2000);
    expect((r(RCC_BASE + RCC.CFGR) >> 3) & 7).toBe(0); // SWS: still HSISYS
    expect(chip.rcc.hclkHz).toBe(16e6);
    expect(rules()).toEqual(['pll-config']);
    expect(chip.strict.reports[0]!.message).toMatch(
      /PLLRCLK would run at 128 MHz, above its 64 MHz maximum: it stays off/,
    );
  });

  it('reports writes to read-only registers and to reserved bits, and lets the model ignore them', () => {
    const { w, r, rules, chip } = setup();
    w(RCC_BASE + RCC.APBENR2, 1 << 14);
    w(0x4001_3800 + USART.ISR, 0);
    expect(r(0x4001_3800 + USART.ISR)).toBe(0x0000_00c0);
    w(0x4001_3800 + USART.ICR, 0xffff_ffff);
    expect(rules()).toEqual(['reserved-bits', 'reserved-bits']);
    expect(chip.strict.reports.map((x) => x.message.slice(0, 40))).toEqual([
      'ISR is read-only: the write of 0x0000000',
      'ICR written with reserved bits 0xFFEDC40',
    ]);
    chip.strict.clear();
    w(0x4001_3800 + USART.ICR, 0x0012_3bff); // every clear bit: fine
    chip.bus.write(0x4001_3800 + USART.CR1 + 1, 0x01, 1); // a byte write into bit 8 (PEIE): fine
    expect(rules()).toEqual([]);
  });

  it('reports a DMAMUX request ID above 61, which the G071 does not have', () => {
    const { w, rules, chip } = setup();
    w(RCC_BASE + RCC.AHBENR, 1);
    w(0x4002_0800 + DMAMUX.CCR(2), 61);
    expect(rules()).toEqual([]);
    w(0x4002_0800 + DMAMUX.CCR(2), 62);
    expect(rules()).toEqual(['dmamux-request']);
    expect(chip.strict.reports[0]!.peripheral).toBe('DMAMUX1 channel 2');
  });
  it('reports AES_IN and AES_OUT (6 and 7), which only the STM32G081 has', () => {
    const { w, rules, chip } = setup();
    w(RCC_BASE + RCC.AHBENR, 1);
    w(0x4002_0800 + DMAMUX.CCR(4), 5); // ADC: fine
    w(0x4002_0800 + DMAMUX.CCR(4), 8); // DAC_CH1: fine
    expect(rules()).toEqual([]);
    w(0x4002_0800 + DMAMUX.CCR(4), 6);
    w(0x4002_0800 + DMAMUX.CCR(5), 7);
    expect(rules()).toEqual(['dmamux-request', 'dmamux-request']);
    expect(chip.strict.reports[0]!.message).toMatch(/DMAREQ_ID = 6 is AES_IN: the STM32G071 has no AES/);
  });

  it("resets RCC_ICSCR to 0x40XX: ST's HAL_RCC_DeInit writing HSITRIM 64 sets no reserved bit, HSICAL stays", () => {
    const { w, r, rules } = setup();
    const reset = r(RCC_BASE + RCC.ICSCR);
    expect(reset & ~0xff).toBe(0x4000);
    expect((reset >> 8) & 0x7f).toBe(64);
    w(RCC_BASE + RCC.ICSCR, 0x4000); // HSICAL is read-only: written 0, it keeps the factory value
    expect(r(RCC_BASE + RCC.ICSCR)).toBe(reset);
    w(RCC_BASE + RCC.ICSCR, 0x4100);
    expect((r(RCC_BASE + RCC.ICSCR) >> 8) & 0x7f).toBe(65);
    expect(rules()).toEqual([]);
  });

  it('resets FLASH_ACR with DBG_SWEN set and reports a write that clears it (the debugger is locked out)', () => {
    const { w, r, rules, chip } = setup();
    expect(r(FLASH_ACR) & (1 << 18)).not.toBe(0);
    w(FLASH_ACR, r(FLASH_ACR) | 2); // read-modify-write keeps it: fine
    expect(rules()).toEqual([]);
    w(FLASH_ACR, 0x302); // also clears reserved bit 10, reported on its own
    expect(rules()).toContain('debug-disabled');
    expect(chip.strict.reports.find((x) => x.rule === 'debug-disabled')!.message).toMatch(
      /ACR written 0x00000302 with DBG_SWEN = 0: the debugger loses access/,
    );
  });

  it('never locks a PLL with no input selected (PLLSRC = 00), and says so', () => {
    const { chip, w, r, rules } = setup();
    w(RCC_BASE + RCC.PLLCFGR, pllcfgr(1, 8, 1) & ~3);
    w(RCC_BASE + RCC.CR, r(RCC_BASE + RCC.CR) | (1 << 24));
    chip.clock.advanceBy(100_000);
    expect(r(RCC_BASE + RCC.CR) & (1 << 25)).toBe(0);
    expect(rules()).toEqual(['pll-config']);
    expect(chip.strict.reports[0]!.message).toMatch(/PLLSRC = 00: no clock is selected as the PLL input/);
  });

  it('fails fetches with a reserved LATENCY (3 to 7) rather than taking it as enough', () => {
    const { w, r, cpu, rules } = setup();
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 3);
    expect(rules()).toEqual(['flash-latency']);
    expect(cpu.fetchFaults.get(0x0800_0000)).toMatch(/LATENCY = 3 is reserved/);
    w(FLASH_ACR, (r(FLASH_ACR) & ~7) | 2);
    expect(cpu.fetchFaults.size).toBe(0);
  });

  it('reports a DMA channel enabled with CNDTR = 0, and one enabled with no DMAMUX request routed to it', () => {
    const { w, rules, chip } = setup();
    w(RCC_BASE + RCC.AHBENR, 1);
    const CCR3 = 0x4002_0000 + 0x08 + 2 * 0x14;
    w(0x4002_0800 + DMAMUX.CCR(3), 52); // off by one: DMAMUX channel 3 drives DMA1 channel 4
    w(CCR3 + 4, 16);
    w(CCR3, 1);
    expect(rules()).toEqual(['dma-request-unrouted']);
    expect(chip.strict.reports[0]!.message).toMatch(
      /enabled while DMAMUX1 C2CR selects no request .*; C3CR selects request 52 for DMA1 channel 4/,
    );
    chip.strict.clear();
    w(CCR3, 0);
    w(0x4002_0800 + DMAMUX.CCR(2), 52);
    w(CCR3 + 4, 0);
    w(CCR3, 1);
    expect(rules()).toEqual(['peripheral-misuse']);
    expect(chip.strict.reports[0]!.message).toMatch(/EN set with DMA_CNDTRx = 0/);
  });
  describe('USART values RM0444 forbids or reserves', () => {
    const U1 = 0x4001_3800;
    function usart1() {
      const s = setup();
      s.w(RCC_BASE + RCC.APBENR2, 1 << 14);
      const messages = () =>
        s.chip.strict.reports
          .filter((x) => x.rule === 'usart-config')
          .map((x) => `${x.peripheral}: ${x.message}`);
      return { ...s, messages };
    }

    it('reports BRR below 16 at UE = 1 with 16x oversampling, not at the BRR write, and accepts 16', () => {
      const { w, messages, chip } = usart1();
      w(U1 + USART.BRR, 15);
      expect(messages()).toEqual([]);
      w(U1 + USART.CR1, CR1_UE | CR1_TE);
      expect(messages()).toEqual([
        'USART1: UE set with BRR = 0x000F (OVER8 = 0): USARTDIV must be at least 16 (RM0444 §33.5.7); the USART sends and receives nothing',
      ]);
      chip.strict.clear();
      w(U1 + USART.CR1, 0);
      w(U1 + USART.BRR, 16);
      w(U1 + USART.CR1, CR1_UE | CR1_TE);
      expect(messages()).toEqual([]);
    });

    it('reports BRR[15:4] = 0 and BRR[3] set at UE = 1 with 8x oversampling, and accepts BRR = 0x10', () => {
      const { w, messages, chip } = usart1();
      w(U1 + USART.BRR, 0x7);
      w(U1 + USART.CR1, CR1_OVER8 | CR1_UE);
      expect(messages()).toEqual([
        'USART1: UE set with BRR = 0x0007 (OVER8 = 1): BRR[15:4] = 0 makes USARTDIV below 16, which RM0444 §33.5.7 forbids; the USART sends and receives nothing',
      ]);
      chip.strict.clear();
      w(U1 + USART.CR1, CR1_OVER8);
      w(U1 + USART.BRR, 0x45b); // 16 or more, but BRR[3] set
      w(U1 + USART.CR1, CR1_OVER8 | CR1_UE);
      expect(messages()).toEqual([
        'USART1: UE set with BRR = 0x045B (OVER8 = 1): BRR[3] must be kept cleared in 8x oversampling (RM0444 §33.5.7)',
      ]);
      chip.strict.clear();
      w(U1 + USART.CR1, CR1_OVER8);
      w(U1 + USART.BRR, 0x10);
      w(U1 + USART.CR1, CR1_OVER8 | CR1_UE);
      expect(messages()).toEqual([]);
    });

    it('reports M1:M0 = 11 at the CR1 write, and none of 00, 01 and 10', () => {
      const { w, messages } = usart1();
      for (const m of [0, CR1_M0, CR1_M1]) w(U1 + USART.CR1, m);
      expect(messages()).toEqual([]);
      w(U1 + USART.CR1, CR1_M1 | CR1_M0);
      expect(messages()).toEqual([
        'USART1: CR1 written with M1:M0 = 11, a word length RM0444 does not define (USART_CR1.M1: 00 = 8, 01 = 9, 10 = 7 data bits): the frame format on silicon is unknown',
      ]);
    });

    it('reports PRESCALER 1100 to 1111 at the PRESC write, and none of 0000 to 1011', () => {
      const { w, messages } = usart1();
      for (let p = 0; p <= 0xb; p++) w(U1 + USART.PRESC, p);
      expect(messages()).toEqual([]);
      w(U1 + USART.PRESC, 0xc);
      expect(messages()).toEqual([
        'USART1: PRESC written with PRESCALER = 1100, which is reserved (RM0444 USART_PRESC: 0000 to 1011 divide by 1 to 256); the USART takes it as 1011 and divides its kernel clock by 256',
      ]);
      for (let p = 0xd; p <= 0xf; p++) w(U1 + USART.PRESC, p);
      expect(messages().map((m) => m.slice(0, 50))).toEqual(
        ['1100', '1101', '1110', '1111'].map((b) => `USART1: PRESC written with PRESCALER = ${b}, which`),
      );
    });

    it('says nothing per character: a configuration error is counted at its write, not as characters go', () => {
      const { w, chip } = usart1();
      w(U1 + USART.PRESC, 0xc);
      w(U1 + USART.BRR, 139);
      w(U1 + USART.CR1, CR1_UE | CR1_TE);
      for (let i = 0; i < 3; i++) {
        w(U1 + USART.TDR, 0x41);
        chip.clock.advanceBy(20_000_000);
      }
      expect(chip.strict.reports.filter((x) => x.rule === 'usart-config').map((x) => x.count)).toEqual([1]);
    });
  });
});
