import { describe, expect, it } from 'vitest';
import { FLASH_SIZE_ADDRESS, SYSTEM_MEMORY_BASE, SystemMemory, UID_ADDRESS } from './system-memory.ts';

describe('system memory', () => {
  it('holds the configured UID and a 128 KiB flash size', () => {
    const m = new SystemMemory({ uid: [0x11223344, 0x55667788, 0x99aabbcc] });
    const at = (a: number, size: 1 | 2 | 4) => m.read(a - SYSTEM_MEMORY_BASE, size);
    expect([at(UID_ADDRESS, 4), at(UID_ADDRESS + 4, 4), at(UID_ADDRESS + 8, 4)]).toEqual([
      0x11223344, 0x55667788, 0x99aabbcc,
    ]);
    expect(at(UID_ADDRESS, 1)).toBe(0x44);
    expect(at(FLASH_SIZE_ADDRESS, 2)).toBe(128);
    expect(at(0x1fff_7000, 4)).toBe(0xffff_ffff);
    expect(() => at(0x1fff_7800, 4)).toThrow(/bus error/);
    expect(() => m.write(UID_ADDRESS - SYSTEM_MEMORY_BASE, 0, 4)).toThrow(/bus error/);
  });

  it('boards get distinct UIDs when asked', () => {
    const a = new SystemMemory();
    const b = new SystemMemory({ uid: [1, 2, 3] });
    expect(a.uid).not.toEqual(b.uid);
  });
});
