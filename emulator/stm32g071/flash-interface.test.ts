import { describe, expect, it } from 'vitest';
import { FLASH, FlashInterface } from './flash-interface.ts';

describe('FLASH interface', () => {
  it('reads back LATENCY, PRFTEN and ICEN as written', () => {
    const f = new FlashInterface();
    expect(f.read(FLASH.ACR, 4)).toBe(0x4_0600); // DBG_SWEN set out of reset (RM0444 §3.7.1)
    expect(f.latencyTooLow(64e6)).toBe(true);
    f.write(FLASH.ACR, (f.read(FLASH.ACR, 4) & ~7) | 2 | (1 << 8), 4);
    expect(f.read(FLASH.ACR, 4)).toBe(0x4_0702);
    expect(f.latencyTooLow(64e6)).toBe(false);
    expect(f.latencyTooLow(16e6)).toBe(false);
  });
});
