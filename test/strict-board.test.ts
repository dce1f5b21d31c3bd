/**
 * The strict virtual board against the real bridge firmware, each rule
 * shown with a firmware built here with one defect silicon would reject:
 * the board does not answer (or, where the firmware has a fallback, falls
 * back), and a strict report names the cause. The unmodified firmware
 * answers with no report at all.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Board, LinkTimeoutError } from '../driver/index.ts';
import type { VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { buildMutantFirmwares, type SourceEdit } from './support/mutant-firmware.ts';
import {
  boot,
  bootMutant,
  disposeMutantBoardsAfterEach,
  halted,
  hello,
  reportText,
  rules,
} from './support/strict-mutants.ts';

/** One defect per mutant, as small source edits (each must match exactly once). */
const MUTANTS = {
  'host-link pins left analog': [
    {
      file: 'src/hostlink.c',
      find: '    GPIOA->MODER = (GPIOA->MODER & ~((3u << 4) | (3u << 6))) | (GPIO_MODE_AF << 4) | (GPIO_MODE_AF << 6);\n',
      replace: '',
    },
  ],
  'GPIOA clock never enabled': [
    {
      file: 'src/board.c',
      find: 'RCC->IOPENR |= RCC_IOPENR_GPIOAEN | RCC_IOPENR_GPIOCEN;',
      replace: 'RCC->IOPENR |= RCC_IOPENR_GPIOCEN;',
    },
  ],
  'flash latency 0 at 64 MHz': [
    {
      file: 'src/clock.c',
      find: '(FLASH->ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_ACR_LATENCY_2WS | FLASH_ACR_PRFTEN',
      replace: '(FLASH->ACR & ~FLASH_ACR_LATENCY_MASK) | FLASH_ACR_PRFTEN',
    },
    {
      file: 'src/clock.c',
      find: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, FLASH_ACR_LATENCY_2WS)',
      replace: 'wait_for(&FLASH->ACR, FLASH_ACR_LATENCY_MASK, 0)',
    },
  ],
  'PLL VCO above 344 MHz': [
    { file: 'src/clock.c', find: 'RCC_PLLCFGR_PLLN(8)', replace: 'RCC_PLLCFGR_PLLN(50)' },
  ],
  'DMAMUX request 62 for the host link': [
    {
      file: 'src/hostlink.c',
      find: 'DMAMUX1->CCR[TX_CH - 1u] = DMAMUX_REQ_USART2_TX;',
      replace: 'DMAMUX1->CCR[TX_CH - 1u] = 62u;',
    },
  ],
  "USART2's BRR computed for 16 MHz at 64 MHz": [
    {
      file: 'src/hostlink.c',
      find: '    uint32_t pclk = clock_pclk_hz();',
      replace: '    uint32_t pclk = 16000000u;',
    },
  ],
  'a DMA channel reprogrammed while enabled': [
    {
      file: 'src/hostlink.c',
      find: 'static void dma_stop(dma_channel_t *c)\n{\n    c->CCR &= ~DMA_CCR_EN;\n    c->CCR = 0;\n}',
      replace: 'static void dma_stop(dma_channel_t *c)\n{\n    (void)c;\n}',
    },
  ],
  'reserved bits set in USART2_ICR': [
    { file: 'src/hostlink.c', find: 'USART2->ICR = USART_ICR_ALL;', replace: 'USART2->ICR = 0xFFFFFFFFu;' },
  ],
} as const satisfies Record<string, readonly SourceEdit[]>;

type Mutant = keyof typeof MUTANTS;

disposeMutantBoardsAfterEach();

// All of them at once, in parallel: each test then finds its build in the cache.
beforeAll(() => buildMutantFirmwares(MUTANTS), 120_000);

async function expectNoAnswer(mutant: Mutant): Promise<VirtualBoard> {
  const vb = bootMutant(MUTANTS, mutant);
  const answer = await hello(vb);
  expect(answer).toBeInstanceOf(LinkTimeoutError);
  return vb;
}

describe('the strict virtual board', () => {
  it('passes the unmodified firmware with no report', async () => {
    const vb = boot(loadFirmware());
    const board = await hello(vb);
    expect(board).toBeInstanceOf(Board);
    await (board as Board).close();
    expect(vb.strictReports).toEqual([]);
  });

  it('leaves the line idle when the host-link pins are not in alternate-function mode', async () => {
    const vb = await expectNoAnswer('host-link pins left analog');
    expect(rules(vb)).toEqual(['pin-not-routed']);
    expect(reportText(vb)).toMatch(/USART2 TX \(PA2\): PA2 is in analog mode .*not alternate function/);
  });

  it('reads an unclocked GPIOA as 0 and ignores its writes, so its pins stay analog', async () => {
    const vb = await expectNoAnswer('GPIOA clock never enabled');
    expect(rules(vb)).toEqual(expect.arrayContaining(['unclocked-access', 'pin-not-routed']));
    expect(reportText(vb)).toMatch(/GPIOA: write at 0x50000000 while RCC_IOPENR.GPIOAEN = 0/);
    expect(reportText(vb)).toMatch(/GPIOA's clock is off/);
  });

  it('fails instruction fetches when HCLK outruns the flash wait states: the core locks up saying why', async () => {
    const vb = bootMutant(MUTANTS, 'flash latency 0 at 64 MHz');
    const halt = await halted(vb);
    expect(halt.reason).toBe('lockup');
    expect(halt.reason === 'lockup' && halt.fault).toMatch(
      /FLASH_ACR.LATENCY = 0 wait states at HCLK 64 MHz/,
    );
    expect(rules(vb)).toEqual(['flash-latency']);
  });

  it('never locks a PLL configured beyond its limits; the firmware stays at 16 MHz and says so', async () => {
    const vb = bootMutant(MUTANTS, 'PLL VCO above 344 MHz');
    const board = await hello(vb);
    expect(board).toBeInstanceOf(Board);
    expect((board as Board).hello.usart1ClockHz).toBe(16_000_000);
    await (board as Board).close();
    expect(rules(vb)).toEqual(['pll-config']);
    expect(reportText(vb)).toMatch(/the VCO runs at 800 MHz, outside 64–344 MHz/);
  });

  it('connects no request for a DMAMUX request ID the G071 does not have', async () => {
    const vb = await expectNoAnswer('DMAMUX request 62 for the host link');
    expect(rules(vb)).toEqual(['dmamux-request']);
    expect(reportText(vb)).toMatch(/DMAREQ_ID = 62/);
  });

  it('garbles the link when USART2 runs at a rate the host does not', async () => {
    const vb = await expectNoAnswer("USART2's BRR computed for 16 MHz at 64 MHz");
    // Four times too fast for the host's receiver: framing errors and garbage, no frame.
    expect(vb.chip.usart2.bitNs()).toBeCloseTo(1e9 / 460_800, -1);
    expect(rules(vb)).toEqual(['baud-mismatch']);
    expect(reportText(vb)).toMatch(
      /USART2 TX: USART2 sends at 46\d{4} baud and the host port receives at 115200 baud, beyond the receiver's tolerance/,
    );
    expect(reportText(vb)).toMatch(
      /USART2 RX: the host port sends at 115200 baud and USART2 receives at 46\d{4} baud/,
    );
  });

  it('reports reserved bits written away from their reset value (silicon takes the write; the manual forbids it)', async () => {
    const vb = bootMutant(MUTANTS, 'reserved bits set in USART2_ICR');
    const board = await hello(vb);
    expect(board).toBeInstanceOf(Board);
    await (board as Board).close();
    expect(rules(vb)).toEqual(['reserved-bits']);
    expect(reportText(vb)).toMatch(/USART2: ICR written with reserved bits 0xFFEDC400/);
  });

  it('reports the misuses its peripherals count, such as a DMA channel reprogrammed while enabled', async () => {
    const vb = bootMutant(MUTANTS, 'a DMA channel reprogrammed while enabled');
    await hello(vb);
    expect(rules(vb)).toContain('peripheral-misuse');
    expect(reportText(vb)).toMatch(
      /DMA1 channel 4: DMA_C(CR|NDTR|MAR)x written (with EN = 1|while the channel is enabled)/,
    );
  });
});
