import { describe, expect, it } from 'vitest';
import { RCC, Rcc } from './rcc.ts';
import { TestClock } from './test-support.ts';

function setup() {
  const clock = new TestClock();
  const rcc = new Rcc(clock, { pllLockNs: 20_000 });
  return { clock, rcc };
}

/** ST's NUCLEO-G071RB sequence for 64 MHz: HSI16 / M1 × N8 / R2. */
function pll64(rcc: Rcc, clock: TestClock) {
  rcc.write(RCC.PLLCFGR, 2 | (0 << 4) | (8 << 8) | (1 << 29), 4);
  rcc.write(RCC.CR, rcc.read(RCC.CR, 4) | (1 << 24), 4);
  rcc.write(RCC.PLLCFGR, rcc.read(RCC.PLLCFGR, 4) | (1 << 28), 4);
  clock.advanceBy(20_000);
}

describe('RCC', () => {
  it('comes out of reset on HSI16 at 16 MHz with HSI ready', () => {
    const { rcc } = setup();
    expect(rcc.read(RCC.CR, 4)).toBe(0x500);
    expect(rcc.sysclkHz).toBe(16_000_000);
    expect(rcc.hclkHz).toBe(16_000_000);
    expect(rcc.usartKernelHz(1)).toBe(16_000_000);
  });

  it('HSIDIV divides HSISYS', () => {
    const { rcc } = setup();
    rcc.write(RCC.CR, 0x500 | (2 << 11), 4);
    expect(rcc.sysclkHz).toBe(4_000_000);
  });

  it('sets PLLRDY only after the lock time', () => {
    const { rcc, clock } = setup();
    rcc.write(RCC.PLLCFGR, 2 | (8 << 8) | (1 << 29) | (1 << 28), 4);
    rcc.write(RCC.CR, 0x500 | (1 << 24), 4);
    expect(rcc.read(RCC.CR, 4) & (1 << 25)).toBe(0);
    clock.advanceBy(19_999);
    expect(rcc.read(RCC.CR, 4) & (1 << 25)).toBe(0);
    clock.advanceBy(1);
    expect(rcc.read(RCC.CR, 4) & (1 << 25)).not.toBe(0);
    expect(rcc.clocks.pllrclkHz).toBe(64_000_000);
  });

  it('SWS follows SW once the PLL is ready, and SYSCLK listeners hear 64 MHz', () => {
    const { rcc, clock } = setup();
    const heard: number[] = [];
    rcc.onSysclkChange((hz) => heard.push(hz));
    rcc.write(RCC.PLLCFGR, 2 | (8 << 8) | (1 << 29) | (1 << 28), 4);
    rcc.write(RCC.CR, 0x500 | (1 << 24), 4);
    // Switch requested before the PLL is ready: SWS stays on HSISYS.
    rcc.write(RCC.CFGR, 2, 4);
    expect((rcc.read(RCC.CFGR, 4) >> 3) & 7).toBe(0);
    expect(rcc.sysclkHz).toBe(16_000_000);
    clock.advanceBy(20_000);
    expect((rcc.read(RCC.CFGR, 4) >> 3) & 7).toBe(2);
    expect(rcc.sysclkHz).toBe(64_000_000);
    expect(heard).toEqual([64_000_000]);
  });

  it('follows the NUCLEO sequence to 64 MHz and applies HPRE/PPRE', () => {
    const { rcc, clock } = setup();
    pll64(rcc, clock);
    rcc.write(RCC.CFGR, 2, 4);
    expect(rcc.sysclkHz).toBe(64_000_000);
    expect(rcc.pclkHz).toBe(64_000_000);
    rcc.write(RCC.CFGR, 2 | (8 << 8) | (4 << 12), 4); // HCLK /2, PCLK /2
    expect(rcc.hclkHz).toBe(32_000_000);
    expect(rcc.pclkHz).toBe(16_000_000);
    expect(rcc.usartKernelHz(2)).toBe(16_000_000);
  });

  it('USARTxSEL picks PCLK, SYSCLK or HSI16', () => {
    const { rcc, clock } = setup();
    pll64(rcc, clock);
    rcc.write(RCC.CFGR, 2 | (4 << 12), 4); // PCLK = 32 MHz
    expect(rcc.usartKernelHz(1)).toBe(32_000_000);
    rcc.write(RCC.CCIPR, 1 | (2 << 2), 4);
    expect(rcc.usartKernelHz(1)).toBe(64_000_000);
    expect(rcc.usartKernelHz(2)).toBe(16_000_000);
    rcc.write(RCC.CCIPR, 3, 4); // LSE: not running
    expect(rcc.usartKernelHz(1)).toBe(0);
  });

  it('refuses to stop the PLL while it is SYSCLK, and ignores PLLCFGR writes while on', () => {
    const { rcc, clock } = setup();
    pll64(rcc, clock);
    rcc.write(RCC.CFGR, 2, 4);
    rcc.write(RCC.CR, 0x500, 4);
    expect(rcc.read(RCC.CR, 4) & (1 << 24)).not.toBe(0);
    rcc.write(RCC.PLLCFGR, 2 | (16 << 8) | (1 << 29) | (1 << 28), 4);
    expect((rcc.read(RCC.PLLCFGR, 4) >> 8) & 0x7f).toBe(8);
    expect(rcc.misuse.get('pllcfgr-while-pll-on')).toBe(1);
  });

  it('reports clock enable changes', () => {
    const { rcc } = setup();
    const seen: string[] = [];
    rcc.onGateChange((g, on) => seen.push(`${g}:${on}`));
    rcc.write(RCC.APBENR2, 1 << 14, 4);
    rcc.write(RCC.AHBENR, 1, 4);
    rcc.write(RCC.IOPENR, 0b101, 4);
    expect(rcc.isEnabled('USART1')).toBe(true);
    expect(rcc.isEnabled('USART2')).toBe(false);
    expect(seen).toEqual(['USART1:true', 'DMA1:true', 'GPIOA:true', 'GPIOC:true']);
  });

  it('clears reset flags on RMVF', () => {
    const { rcc } = setup();
    expect(rcc.read(RCC.CSR, 4) >>> 25).not.toBe(0);
    rcc.write(RCC.CSR, 1 << 23, 4);
    expect(rcc.read(RCC.CSR, 4)).toBe(0);
    rcc.noteReset('software');
    expect(rcc.read(RCC.CSR, 4)).toBe(1 << 28);
  });

  it('reads bytes and half-words of a register and faults on unknown offsets', () => {
    const { rcc } = setup();
    expect(rcc.read(RCC.CR + 1, 1)).toBe(0x05);
    expect(rcc.read(RCC.PLLCFGR, 2)).toBe(0x1000);
    expect(() => rcc.read(0x10, 4)).toThrow(/bus error/);
  });
});
