import { describe, expect, it } from 'vitest';
import { IWDG, IWDG_KEY, Iwdg } from './iwdg.ts';
import { TestClock } from './test-support.ts';

const MS = 1_000_000;

function make() {
  const clock = new TestClock();
  let resets = 0;
  const iwdg = new Iwdg(clock, () => {
    resets++;
    iwdg.reset();
  });
  return { clock, iwdg, resets: () => resets };
}

/** PR = 4 (/64) and RLR = 499: 500 ticks of 2 ms, a one-second timeout. */
function startOneSecond(iwdg: Iwdg): void {
  iwdg.write(IWDG.KR, IWDG_KEY.START, 4);
  iwdg.write(IWDG.KR, IWDG_KEY.UNLOCK, 4);
  iwdg.write(IWDG.PR, 4, 4);
  iwdg.write(IWDG.RLR, 499, 4);
  iwdg.write(IWDG.KR, IWDG_KEY.RELOAD, 4);
}

describe('IWDG', () => {
  it('does nothing until started, then resets the chip when the counter runs out', () => {
    const { clock, iwdg, resets } = make();
    clock.advanceTo(10_000 * MS);
    expect(resets()).toBe(0);
    startOneSecond(iwdg);
    clock.advanceTo(clock.nowNs + 990 * MS);
    expect(resets()).toBe(0);
    expect(iwdg.counter).toBeLessThan(10);
    clock.advanceTo(clock.nowNs + 20 * MS);
    expect(resets()).toBe(1);
    expect(iwdg.started).toBe(false);
  });

  it('is held off by reloads (0xAAAA) for as long as they come', () => {
    const { clock, iwdg, resets } = make();
    startOneSecond(iwdg);
    for (let i = 0; i < 20; i++) {
      clock.advanceTo(clock.nowNs + 600 * MS);
      iwdg.write(IWDG.KR, IWDG_KEY.RELOAD, 4);
    }
    expect(resets()).toBe(0);
    expect(iwdg.counter).toBe(499);
  });

  it('ignores PR and RLR without the 0x5555 key, and counts the misuse', () => {
    const { iwdg } = make();
    iwdg.write(IWDG.RLR, 10, 4);
    expect(iwdg.read(IWDG.RLR, 4)).toBe(0xfff);
    expect(iwdg.misuse.get('write-while-locked')).toBe(1);
    iwdg.write(IWDG.KR, IWDG_KEY.UNLOCK, 4);
    iwdg.write(IWDG.RLR, 10, 4);
    expect(iwdg.read(IWDG.RLR, 4)).toBe(10);
    // Any other key closes the registers again.
    iwdg.write(IWDG.KR, 0x1234, 4);
    iwdg.write(IWDG.PR, 3, 4);
    expect(iwdg.read(IWDG.PR, 4)).toBe(0);
  });

  it('flags a register update in SR for five LSI cycles', () => {
    const { clock, iwdg } = make();
    iwdg.write(IWDG.KR, IWDG_KEY.UNLOCK, 4);
    iwdg.write(IWDG.PR, 2, 4);
    iwdg.write(IWDG.RLR, 100, 4);
    expect(iwdg.read(IWDG.SR, 4)).toBe(0b011);
    clock.advanceTo(clock.nowNs + (5 * 1e9) / 32_000 + 1);
    expect(iwdg.read(IWDG.SR, 4)).toBe(0);
  });

  it('resets on a reload above the window (RM0444 §24.3.4)', () => {
    const { clock, iwdg, resets } = make();
    startOneSecond(iwdg);
    iwdg.write(IWDG.KR, IWDG_KEY.UNLOCK, 4);
    iwdg.write(IWDG.WINR, 250, 4);
    clock.advanceTo(clock.nowNs + 100 * MS);
    iwdg.write(IWDG.KR, IWDG_KEY.RELOAD, 4);
    expect(resets()).toBe(1);
  });

  it('cannot be stopped by software and starts over on a system reset', () => {
    const { clock, iwdg, resets } = make();
    startOneSecond(iwdg);
    iwdg.write(IWDG.KR, 0, 4);
    clock.advanceTo(clock.nowNs + 1100 * MS);
    expect(resets()).toBe(1);
    expect(iwdg.read(IWDG.RLR, 4)).toBe(0xfff);
    clock.advanceTo(clock.nowNs + 100_000 * MS);
    expect(resets()).toBe(1);
  });
});
