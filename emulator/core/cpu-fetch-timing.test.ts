/**
 * Instruction fetch timing from a memory behind wait states, with the
 * figures of the STM32G0's flash (RM0444 §3.3.4, §3.3.5): 64-bit lines,
 * LATENCY wait states on each line read, a prefetch buffer that reads the
 * next line while the current one runs, a cache for lines branched back to.
 * Each figure is the extra cycles over the same code with no wait states.
 */
import { describe, expect, it } from 'vitest';
import type { FetchTiming } from './cpu.ts';
import { FLASH_BASE, FLASH_SIZE } from './machine.ts';
import { boot, DONE, runToBreak } from './test-support/board.ts';
import { b, bCond, bkpt, ldrLit, movsImm, nop, subsImm, word } from './test-support/thumb.ts';

function timing(waitStates: number, prefetch: boolean, cacheLines: number): FetchTiming {
  return { base: FLASH_BASE, size: FLASH_SIZE, waitStates, lineBytes: 8, prefetch, cacheLines };
}

/** Cycles `code` (at CODE, which starts a line) takes to reach its BKPT with `t`. */
function cycles(code: Parameters<typeof boot>[0], t: FetchTiming | null): number {
  const m = boot([...code, bkpt(DONE)]);
  m.cpu.setFetchTiming(t);
  const start = m.cpu.cycles;
  expect(runToBreak(m.cpu).imm).toBe(DONE);
  return m.cpu.cycles - start;
}

const extra = (code: Parameters<typeof boot>[0], t: FetchTiming) => cycles(code, t) - cycles(code, null);

// Eight lines of four NOPs; the BKPT starts a ninth.
const straight = Array.from({ length: 32 }, () => nop());
// Line 0: movs + 3 nops; line 1 (the loop): 3 nops + subs; line 2: bne back to line 1, then the BKPT.
const loop = [movsImm(0, 10), nop(), nop(), nop(), nop(), nop(), nop(), subsImm(0, 1), bCond('ne', -12)];

describe('fetch timing behind flash wait states', () => {
  it('costs LATENCY cycles for each line read without prefetch or cache', () => {
    expect(extra(straight, timing(2, false, 0))).toBe(9 * 2);
    expect(extra(straight, timing(1, false, 0))).toBe(9 * 1);
    // The loop reads its two lines again on every one of its 10 rounds.
    expect(extra(loop, timing(2, false, 0))).toBe(2 + 10 * 2 * 2);
  });

  it('hides the wait states of straight-line code behind the prefetch', () => {
    // Four one-cycle instructions per line outlast a three-cycle read: only the first line waits.
    expect(extra(straight, timing(2, true, 0))).toBe(2);
    // A branch is not sequential: the line branched to is read anew on each round after the first.
    expect(extra(loop, timing(2, true, 0))).toBe(2 + 9 * 2);
  });

  it('keeps the lines of a loop in the cache', () => {
    expect(extra(loop, timing(2, false, 16))).toBe(3 * 2);
    expect(extra(loop, timing(2, true, 16))).toBe(2);
    // A cache too small for the loop's lines helps nothing.
    expect(extra(loop, timing(2, false, 1))).toBe(2 + 10 * 2 * 2);
  });

  it('charges the wait states on data read from flash (a literal pool)', () => {
    // ldr r1, [pc, #4] at a line start, a branch over the literal (the next line), the BKPT after it.
    const code = [ldrLit(1, 4), nop(), nop(), b(2), word(0x12345678), nop(), nop()];
    expect(extra(code, timing(2, true, 0))).toBe(2 + 2);
  });

  it('costs nothing at zero wait states', () => {
    expect(extra(loop, timing(0, false, 0))).toBe(0);
  });
});
