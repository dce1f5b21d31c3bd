/**
 * More of the strict board's rules, each against the real bridge firmware
 * built here with one defect: clocks that were never enabled, a pin on
 * the wrong alternate function, one wait state too few, PLL settings
 * beyond RM0444's limits, reserved and read-only register writes, and a
 * USART1 rate the device at the other end does not run at. Where silicon
 * would break the link the board does not answer; where silicon would go
 * on (a reserved bit, a fallback clock) it answers; either way a strict
 * report names the cause.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Board, LinkTimeoutError, Serial1 } from '../../driver/index.ts';
import type { StrictReport } from '../../emulator/index.ts';
import { RCC } from '../../emulator/stm32g071/rcc.ts';
import { buildMutantFirmwares, type SourceEdit } from '../support/mutant-firmware.ts';
import {
  type BootOptions,
  bootMutant,
  disposeMutantBoardsAfterEach,
  halted,
  hello,
  reportText,
  rules,
} from '../support/strict-mutants.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

/** One defect per mutant, as small source edits (each must match exactly once). */
const MUTANTS = {
  'USART2 clock never enabled': [
    {
      file: 'src/board.c',
      find: 'RCC->APBENR1 |= RCC_APBENR1_USART2EN | RCC_APBENR1_DBGEN;',
      replace: 'RCC->APBENR1 |= RCC_APBENR1_DBGEN;',
    },
  ],
  'DBG clock never enabled': [
    {
      file: 'src/board.c',
      find: 'RCC->APBENR1 |= RCC_APBENR1_USART2EN | RCC_APBENR1_DBGEN;',
      replace: 'RCC->APBENR1 |= RCC_APBENR1_USART2EN;',
    },
  ],
  'DMA1 clock never enabled': [
    { file: 'src/board.c', find: 'RCC->AHBENR |= RCC_AHBENR_DMA1EN;', replace: 'RCC->AHBENR |= 0u;' },
  ],
  'host-link pins on AF0': [
    { file: 'src/hostlink.c', find: '| (1u << 8) | (1u << 12);', replace: '| (0u << 8) | (0u << 12);' },
  ],
  'flash latency 1 at 64 MHz': [
    {
      file: 'src/clock.c',
      find: 'FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN',
      replace: '1u | FLASH_ACR_PRFTEN',
    },
    {
      file: 'src/clock.c',
      find: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, FLASH_ACR_LATENCY_2WS)',
      replace: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, 1u)',
    },
  ],
  'voltage range 2': [
    {
      file: 'src/clock.c',
      find: 'uint32_t clock_init(void)\n{\n',
      // PWREN, then PWR_CR1.VOS = 10 (range 2: HCLK up to 16 MHz, 0 WS only up to 8 MHz).
      replace:
        'uint32_t clock_init(void)\n{\n    RCC->APBENR1 |= 1u << 28;\n    *(volatile uint32_t *)0x40007000u = 2u << 9;\n',
    },
  ],
  'PLLRCLK at 128 MHz': [
    { file: 'src/clock.c', find: 'RCC_PLLCFGR_PLLN(8)', replace: 'RCC_PLLCFGR_PLLN(16)' },
  ],
  'PLL input at 2 MHz': [
    { file: 'src/clock.c', find: 'RCC_PLLCFGR_PLLM(1)', replace: 'RCC_PLLCFGR_PLLM(8)' },
  ],
  'a reserved PLLR': [{ file: 'src/clock.c', find: 'RCC_PLLCFGR_PLLR(2)', replace: 'RCC_PLLCFGR_PLLR(1)' }],
  'USART2 flags cleared through the read-only ISR': [
    {
      file: 'src/hostlink.c',
      find: 'USART2->ICR = isr & (USART_ISR_IDLE | USART_ISR_CMF);',
      replace: 'USART2->ISR = isr & (USART_ISR_IDLE | USART_ISR_CMF);',
    },
  ],
  'a reserved bit set in USART2_CR2': [
    {
      file: 'src/hostlink.c',
      find: 'USART2->CR2 = 0u << USART_CR2_ADD_SHIFT;',
      replace: 'USART2->CR2 = (0u << USART_CR2_ADD_SHIFT) | (1u << 1);',
    },
  ],
  "HELLO gives USART1's clock as 16 MHz at 64 MHz": [
    {
      file: 'src/platform_stm32.c',
      find: 'info->usart1_clock_hz = clock_pclk_hz();',
      replace: 'info->usart1_clock_hz = 16000000u;',
    },
  ],
  // Four independent defects in one build (a build is the costly part): each
  // test below looks for its own report. None stops the board answering.
  'HAL-style register writes, no PLL source': [
    {
      file: 'src/clock.c',
      find: 'uint32_t clock_init(void)\n{\n',
      // HAL_RCC_DeInit's HSITRIM write; then ACR as a whole value, without DBG_SWEN (0x302).
      replace:
        'uint32_t clock_init(void)\n{\n    RCC->ICSCR = 0x4000u;\n    FLASH->ACR = FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN;\n',
    },
    {
      file: 'src/clock.c',
      find: 'RCC_PLLCFGR_PLLSRC_HSI16 | RCC_PLLCFGR_PLLM(1)',
      replace: 'RCC_PLLCFGR_PLLM(1)',
    },
    {
      file: 'src/board.c',
      find: 'RCC->AHBENR |= RCC_AHBENR_DMA1EN; /* DMA1 and DMAMUX1 */',
      replace: 'RCC->AHBENR |= RCC_AHBENR_DMA1EN;\n    DMAMUX1->CCR[4] = 6u; /* AES_IN */',
    },
  ],
  'flash latency 3 (reserved)': [
    {
      file: 'src/clock.c',
      find: 'FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN',
      replace: '3u | FLASH_ACR_PRFTEN',
    },
    {
      file: 'src/clock.c',
      find: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, FLASH_ACR_LATENCY_2WS)',
      replace: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, 3u)',
    },
  ],
  // Two defects of the host link's DMA set-up, each fatal to the link on its own.
  'host-link DMA: receive CNDTR 0, transmit DMAMUX index off by one': [
    { file: 'src/hostlink.c', find: 'r->CNDTR = RX_RING_SIZE;', replace: 'r->CNDTR = 0u;' },
    {
      file: 'src/hostlink.c',
      find: 'DMAMUX1->CCR[TX_CH - 1u] = DMAMUX_REQ_USART2_TX;',
      replace: 'DMAMUX1->CCR[TX_CH] = DMAMUX_REQ_USART2_TX;',
    },
  ],
  'SysTick on HCLK/8': [
    {
      file: 'src/board.c',
      find: 'SYSTICK->CSR = SYSTICK_CSR_CLKSOURCE | SYSTICK_CSR_TICKINT | SYSTICK_CSR_ENABLE;',
      replace: 'SYSTICK->CSR = SYSTICK_CSR_TICKINT | SYSTICK_CSR_ENABLE;',
    },
  ],
} as const satisfies Record<string, readonly SourceEdit[]>;

type Mutant = keyof typeof MUTANTS;

disposeMutantBoardsAfterEach();

// All of them at once, in parallel: each test then finds its build in the cache.
beforeAll(() => buildMutantFirmwares(MUTANTS), 120_000);

const boot = (mutant: Mutant, options: BootOptions = {}) => bootMutant(MUTANTS, mutant, options);

describe('the strict virtual board, rule by rule', () => {
  it('reads an unclocked USART2 as 0 and ignores its writes: no link', async () => {
    const seen: StrictReport[] = [];
    const vb = boot('USART2 clock never enabled', { onStrict: (r) => seen.push(r) });
    expect(await hello(vb)).toBeInstanceOf(LinkTimeoutError);
    expect(rules(vb)).toContain('unclocked-access');
    expect(reportText(vb)).toMatch(/USART2: write at 0x40004400 while RCC_APBENR1.USART2EN = 0/);
    // The listener heard each distinct report as it was made.
    expect(seen.map((r) => r.message)).toEqual(vb.strictReports.map((r) => r.message));
  });

  it('ignores DBG_APB_FZ1 without RCC_APBENR1.DBGEN: the link works, the watchdog would not stop under a debugger', async () => {
    const vb = boot('DBG clock never enabled');
    const board = await hello(vb);
    expect(board).toBeInstanceOf(Board);
    await (board as Board).close();
    expect(vb.chip.dbgmcu.read(0x08, 4) & (1 << 12)).toBe(0); // DBG_IWDG_STOP did not take
    expect(rules(vb)).toEqual(['unclocked-access']);
    expect(reportText(vb)).toMatch(/DBGMCU: (read|write) at 0x40015808 while RCC_APBENR1.DBGEN = 0/);
  });

  it('reads an unclocked DMA1 and DMAMUX1 as 0: the host link, which runs by DMA, never starts', async () => {
    const vb = boot('DMA1 clock never enabled');
    expect(await hello(vb)).toBeInstanceOf(LinkTimeoutError);
    expect(rules(vb)).toContain('unclocked-access');
    expect(reportText(vb)).toMatch(/DMAMUX1?: write at 0x4002080. while RCC_AHBENR.DMA1EN = 0/);
    expect(reportText(vb)).toMatch(/DMA1: write at 0x400200.. while RCC_AHBENR.DMA1EN = 0/);
  });

  it('keeps the line idle when the host-link pins select another alternate function', async () => {
    const vb = boot('host-link pins on AF0');
    expect(await hello(vb)).toBeInstanceOf(LinkTimeoutError);
    expect(rules(vb)).toEqual(['pin-not-routed']);
    expect(reportText(vb)).toMatch(/USART2 TX \(PA2\): PA2 selects AF0 \(AFR\), not AF1/);
  });

  it('locks up on the first fetch with one wait state at 64 MHz, which needs two', async () => {
    const vb = boot('flash latency 1 at 64 MHz');
    const halt = await halted(vb);
    expect(halt.reason === 'lockup' && halt.fault).toMatch(
      /FLASH_ACR.LATENCY = 1 wait states at HCLK 64 MHz, which needs 2/,
    );
    expect(rules(vb)).toEqual(['flash-latency']);
  });

  it('locks up in voltage range 2 as soon as it is set: even 16 MHz needs a wait state there', async () => {
    const vb = boot('voltage range 2');
    const halt = await halted(vb);
    expect(halt.reason === 'lockup' && halt.fault).toMatch(
      /FLASH_ACR.LATENCY = 0 wait states at HCLK 16 MHz, which needs 1 in range 2/,
    );
    expect(rules(vb)).toEqual(['flash-latency']);
  });

  for (const [mutant, why] of [
    [
      'PLLRCLK at 128 MHz',
      /a PLL output enabled with PLLRCLK would run at 128 MHz, above its 64 MHz maximum/,
    ],
    ['PLL input at 2 MHz', /PLLON set with the VCO input \(PLL input \/ M\) is 2 MHz, outside 2.66–16 MHz/],
    ['a reserved PLLR', /a PLL output enabled with PLLR = 0 is reserved/],
  ] as const) {
    it(`keeps SYSCLK off a PLL out of its limits (${mutant}); the firmware falls back to 16 MHz`, async () => {
      const vb = boot(mutant);
      const board = await hello(vb);
      expect(board).toBeInstanceOf(Board);
      expect((board as Board).hello.usart1ClockHz).toBe(16_000_000);
      await (board as Board).close();
      expect(rules(vb)).toEqual(['pll-config']);
      expect(reportText(vb)).toMatch(why);
    });
  }

  it('reports flags "cleared" through the read-only USART2_ISR', async () => {
    const vb = boot('USART2 flags cleared through the read-only ISR');
    await hello(vb);
    expect(reportText(vb)).toMatch(/USART2: ISR is read-only: the write of 0x[0-9A-F]{8} is ignored/);
  });

  it('reports a reserved bit set in USART2_CR2, though the link still works', async () => {
    const vb = boot('a reserved bit set in USART2_CR2');
    const board = await hello(vb);
    expect(board).toBeInstanceOf(Board);
    await (board as Board).close();
    expect(rules(vb)).toEqual(['reserved-bits']);
    expect(reportText(vb)).toMatch(
      /USART2: CR2 written with reserved bits 0x00000002 away from their reset value/,
    );
  });

  it("garbles what USART1 sends when HELLO gives the host a wrong USART1 clock: the peer's rate does not follow", async () => {
    const vb = boot("HELLO gives USART1's clock as 16 MHz at 64 MHz");
    const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb) });
    // The host computes BRR for 115200 baud at 16 MHz; USART1 runs at 64 MHz: four times too fast.
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    const buf = board.alloc(5);
    await buf.write(new TextEncoder().encode('hello'));
    await serial.writeAll(buf).wait();
    await board.close();
    expect(vb.peer.received().map((r) => r.byte)).not.toEqual([...new TextEncoder().encode('hello')]);
    expect(rules(vb)).toEqual(['baud-mismatch']);
    expect(reportText(vb)).toMatch(
      /USART1 TX: USART1 sends at 46\d{4} baud and the peer receives at 115200 baud/,
    );
  });
  describe("a firmware written the way ST's HAL does some things, with no PLL source", () => {
    const mutant = 'HAL-style register writes, no PLL source';
    const report = (vb: ReturnType<typeof boot>, rule: string) =>
      vb.strictReports.filter((r) => r.rule === rule).map((r) => `${r.peripheral}: ${r.message}`);

    it("takes HAL_RCC_DeInit's RCC_ICSCR = 0x4000 (HSITRIM 64) as the reset value it is: no report, HSITRIM 64", async () => {
      const vb = boot(mutant);
      const board = await hello(vb);
      expect(board).toBeInstanceOf(Board);
      await (board as Board).close();
      expect(reportText(vb)).not.toMatch(/ICSCR/);
      expect((vb.chip.rcc.read(RCC.ICSCR, 4) >> 8) & 0x7f).toBe(64);
    });

    it('reports PLLON with no PLL source selected; the firmware answers at its 16 MHz fallback', async () => {
      const vb = boot(mutant);
      const board = await hello(vb);
      expect(board).toBeInstanceOf(Board);
      expect((board as Board).hello.usart1ClockHz).toBe(16_000_000);
      await (board as Board).close();
      expect(report(vb, 'pll-config').join('\n')).toMatch(
        /RCC: PLLON set with PLLSRC = 00: no clock is selected as the PLL input: the PLL never locks/,
      );
    });

    it('reports FLASH_ACR written without DBG_SWEN (0x302): a debugger could no longer connect', async () => {
      const vb = boot(mutant);
      await hello(vb);
      expect(report(vb, 'debug-disabled').join('\n')).toMatch(
        /FLASH: ACR written 0x00000302 with DBG_SWEN = 0/,
      );
    });

    it('reports a DMAMUX request the G071 lacks (6, AES_IN, only on the G081)', async () => {
      const vb = boot(mutant);
      await hello(vb);
      expect(report(vb, 'dmamux-request')).toEqual([
        'DMAMUX1 channel 4: DMAREQ_ID = 6 is AES_IN: the STM32G071 has no AES (only the STM32G081 has), so DMA1 channel 5 gets no request',
      ]);
    });
  });

  it('locks up on a reserved LATENCY (3) instead of taking it as enough wait states', async () => {
    const vb = boot('flash latency 3 (reserved)');
    const halt = await halted(vb);
    expect(halt.reason === 'lockup' && halt.fault).toMatch(/FLASH_ACR.LATENCY = 3 is reserved/);
    expect(rules(vb)).toEqual(['flash-latency']);
  });

  for (const [what, rule, why] of [
    [
      'a DMA channel enabled with CNDTR = 0',
      'peripheral-misuse',
      /DMA1 channel 3: EN set with DMA_CNDTRx = 0/,
    ],
    [
      'a USART requesting DMA that no DMAMUX channel routes to its channel',
      'dma-request-unrouted',
      /DMA1 channel 4: enabled while DMAMUX1 C3CR selects no request .*C4CR selects request 53 for DMA1 channel 5/,
    ],
  ] as const) {
    it(`says why the host link is dead: ${what}`, async () => {
      const vb = boot('host-link DMA: receive CNDTR 0, transmit DMAMUX index off by one');
      expect(await hello(vb)).toBeInstanceOf(LinkTimeoutError);
      expect(rules(vb)).toContain(rule);
      expect(reportText(vb)).toMatch(why);
    });
  }

  it('says where the core was when the watchdog reset it, and that SysTick on HCLK/8 wakes the loop too rarely', async () => {
    const vb = boot('SysTick on HCLK/8');
    await new Promise<void>((resolve) => virtualTimers(vb).setTimeout(resolve, 2500));
    expect(rules(vb)).toEqual(['watchdog-reset']);
    expect(reportText(vb)).toMatch(
      /IWDG: IWDG not reloaded within its 1\.5 s timeout: it reset the chip \(RCC_CSR\.IWDGRSTF\); the core was at PC 0x080[0-9A-F]{5} \(\w+\), in thread mode, asleep in WFI; SysTick runs from HCLK\/8 \(SYST_CSR\.CLKSOURCE = 0\) and wraps every 2\.1 s/,
    );
  });
});
