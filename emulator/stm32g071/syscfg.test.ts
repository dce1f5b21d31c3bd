import { describe, expect, it } from 'vitest';
import { SYSCFG, Syscfg } from './syscfg.ts';

describe('SYSCFG', () => {
  it('stores CFGR1 and sets CFGR2 locks only', () => {
    const s = new Syscfg();
    s.write(SYSCFG.CFGR1, (1 << 3) | (1 << 4), 4);
    expect(s.read(SYSCFG.CFGR1, 4)).toBe(0x18);
    s.write(SYSCFG.CFGR2, 1, 4);
    s.write(SYSCFG.CFGR2, 0, 4);
    expect(s.read(SYSCFG.CFGR2, 4)).toBe(1);
    expect(s.read(SYSCFG.ITLINE0 + 27 * 4, 4)).toBe(0);
    expect(() => s.read(0x40, 4)).toThrow(/bus error/);
  });
});
