import { describe, expect, it } from 'vitest';
import { DBGMCU, Dbgmcu } from './dbgmcu.ts';

describe('DBGMCU', () => {
  it('identifies an STM32G07x', () => {
    const d = new Dbgmcu();
    expect(d.read(DBGMCU.IDCODE, 4) & 0xfff).toBe(0x460);
    expect(d.read(DBGMCU.IDCODE, 4) >>> 16).toBe(0x2000);
    expect(new Dbgmcu({ revId: 0x1000 }).read(DBGMCU.IDCODE, 2)).toBe(0x460);
    d.write(DBGMCU.IDCODE, 0, 4);
    expect(d.read(DBGMCU.IDCODE, 4) & 0xfff).toBe(0x460);
    d.write(DBGMCU.CR, 6, 4);
    expect(d.read(DBGMCU.CR, 4)).toBe(6);
  });
});
