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
});
