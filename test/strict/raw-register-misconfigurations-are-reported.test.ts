/**
 * Register writes the bridge firmware lets through board.raw that RM0444
 * calls reserved or forbidden: the strict board names each one, with the
 * rule and the field at fault, at the write (or at UE = 1 for the baud
 * rate divider).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StrictRule } from '../../emulator/index.ts';
import { openVirtualTarget, type VirtualTarget } from '../support/virtual-target.ts';

let t: VirtualTarget | undefined;
afterEach(async () => {
  t?.vb.chip.strict.clear();
  await t?.dispose();
  t = undefined;
});

const USART1 = 0x4001_3800;
const CR1 = USART1 + 0x00;
const BRR = USART1 + 0x0c;
const PRESC = USART1 + 0x2c;
const CCR1 = 0x4002_0008;
const CNDTR1 = 0x4002_000c;

const probes: [string, [number, number][], StrictRule, RegExp][] = [
  [
    'DMA_CCR1 reserved bits 15..31 (EN = 0)',
    [[CCR1, 0xffff_0000]],
    'reserved-bits',
    /DMA_CCR1 written with reserved bits 0xFFFF0000/,
  ],
  ['DMA_CNDTR1 reserved bits 16..31', [[CNDTR1, 0x0001_0010]], 'reserved-bits', /DMA_CNDTR1 .*0x00010000/],
  [
    'USART1 CR1 M1:M0 = 11 (no word length RM0444 defines)',
    [[CR1, (1 << 28) | (1 << 12)]],
    'usart-config',
    /USART1: CR1 written with M1:M0 = 11, a word length RM0444 does not define/,
  ],
  [
    'USART1 PRESC = 1100 (reserved prescaler)',
    [[PRESC, 0xc]],
    'usart-config',
    /USART1: PRESC written with PRESCALER = 1100, which is reserved/,
  ],
  [
    'USART1 BRR = 8 with OVER8 = 0, then UE = 1',
    [
      [BRR, 8],
      [CR1, 1 | (1 << 3)],
    ],
    'usart-config',
    /USART1: UE set with BRR = 0x0008 \(OVER8 = 0\): USARTDIV must be at least 16/,
  ],
];

describe('misconfigurations written through board.raw are reported by the strict board', () => {
  for (const [name, writes, rule, why] of probes) {
    it(`names: ${name}`, async () => {
      t = await openVirtualTarget();
      const { board, vb } = t;
      for (const [address, value] of writes) await board.raw.writeRegister(address, value);
      const reports = vb.strictReports
        .filter((r) => r.rule === rule)
        .map((r) => `${r.peripheral}: ${r.message}`);
      expect(reports.join('\n')).toMatch(why);
    });
  }
});
