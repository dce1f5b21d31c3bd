/** FLASH_ACR's LATENCY, PRFTEN and ICEN set how the core's fetches from flash are timed (RM0444 §3.3.4, §3.3.5). */
import { describe, expect, it } from 'vitest';
import type { FetchTiming, RunResult } from '../core/cpu.ts';
import { type CpuCore, createStm32g071, FLASH_BASE, FLASH_SIZE } from './chip.ts';

class TimedCpu implements CpuCore {
  frequencyHz = 0;
  onResetRequest: (() => void) | null = null;
  readonly nvic = { line: () => ({ set: () => {} }) };
  timing: FetchTiming | null = null;
  reset(): void {}
  run(): RunResult {
    return { reason: 'idle' };
  }
  yieldSoon(): void {}
  setFetchTiming(timing: FetchTiming | null): void {
    this.timing = timing;
  }
}

const FLASH_ACR = 0x4002_2000;

describe('flash fetch timing on the chip', () => {
  it('follows FLASH_ACR: LATENCY wait states on 64-bit lines, the prefetch and the cache as enabled', () => {
    const chip = createStm32g071({ cpu: () => new TimedCpu() });
    const cpu = chip.cpu as TimedCpu;
    expect(cpu.timing?.waitStates).toBe(0); // out of reset: LATENCY = 0
    chip.bus.write(FLASH_ACR, 2 | (1 << 8) | (1 << 9), 4);
    expect(cpu.timing).toMatchObject({ base: FLASH_BASE, size: FLASH_SIZE, waitStates: 2, lineBytes: 8 });
    expect(cpu.timing?.prefetch).toBe(true);
    expect(cpu.timing?.cacheLines).toBeGreaterThan(0);
    chip.bus.write(FLASH_ACR, 1, 4);
    expect(cpu.timing).toMatchObject({ waitStates: 1, prefetch: false, cacheLines: 0 });
    chip.reset('pin');
    expect(cpu.timing?.waitStates).toBe(0);
  });
});
