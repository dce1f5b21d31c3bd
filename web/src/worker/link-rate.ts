/**
 * The fastest host link the worker's virtual board keeps up with. The board
 * runs paced to the wall clock, so at a rate it cannot sustain it falls
 * behind and the console's (wall-clock) timeouts fire. How fast it runs is
 * measured here, in the worker, on the core alone (a short busy loop), and
 * scaled by what the benchmark shows the whole board needs: streaming at
 * 2 Mbaud took about this many core MIPS per unit of real time
 * (`npm run bench`, "virtual board" line: core MIPS over the streaming
 * factor). The link's cost grows with its rate.
 */
import { FLASH_BASE, Machine, SRAM_BASE } from '../../../emulator/core/machine.ts';

/** Core MIPS the board needs per 1× real time while streaming at 2 Mbaud (from the benchmark). */
export const MIPS_PER_REAL_TIME_AT_2M = 100;
/** Head room asked for above real time: the page and the browser share the machine. */
export const KEEP_UP_MARGIN = 1.5;
/** Rates the console tries, fastest first (the firmware offers them all at 64 MHz). */
export const CANDIDATE_RATES = [2_000_000, 921_600, 460_800, 230_400] as const;
/** The board's boot rate: always usable. */
export const BOOT_RATE = 115_200;

export interface LinkRateChoice {
  readonly baud: number;
  /** The measured core speed. */
  readonly mips: number;
  /** How many times real time the board should run at that rate. */
  readonly headroom: number;
}

/** The fastest candidate rate at which a core of `mips` runs the board `KEEP_UP_MARGIN` times real time. */
export function chooseLinkRate(mips: number): LinkRateChoice {
  for (const baud of CANDIDATE_RATES) {
    const headroom = mips / (MIPS_PER_REAL_TIME_AT_2M * (baud / 2_000_000));
    if (headroom >= KEEP_UP_MARGIN) return { baud, mips, headroom };
  }
  return { baud: BOOT_RATE, mips, headroom: mips / (MIPS_PER_REAL_TIME_AT_2M * (BOOT_RATE / 2_000_000)) };
}

// adds r1, r1, r0; ldr r2, [r3]; str r1, [r3, #4]; eors r2, r1; lsls r4, r2, #3;
// ldrb r5, [r3, #1]; subs r0, #1; bne loop; then bkpt.
const LOOP = [0x1809, 0x681a, 0x6059, 0x404a, 0x00d4, 0x785d, 0x3801, 0xd1f7, 0xbe00];
const INSTRUCTIONS_PER_ROUND = 8;

/** Core MIPS on this machine, from about `budgetMs` of wall time on a busy loop (after a warm-up). */
export function measureCoreMips(budgetMs = 60): number {
  const m = new Machine({ frequencyHz: 64_000_000 });
  const code = FLASH_BASE + 0x100;
  const image = new Uint8Array(0x100 + LOOP.length * 2);
  const view = new DataView(image.buffer);
  view.setUint32(0, SRAM_BASE + 0x8000, true);
  view.setUint32(4, code | 1, true);
  for (const [i, h] of LOOP.entries()) view.setUint16(0x100 + 2 * i, h, true);
  m.bus.load(FLASH_BASE, image);
  m.reset();
  const start = 0x7fffffff;
  m.cpu.r[0] = start;
  m.cpu.r[3] = SRAM_BASE;
  m.cpu.run(20e6); // warm-up (the JIT): 20 ms of virtual time, a few ms of wall time
  const before = start - m.cpu.r[0]!;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    m.cpu.run(1e6);
    elapsed = performance.now() - t0;
  }
  return ((start - m.cpu.r[0]! - before) * INSTRUCTIONS_PER_ROUND) / (elapsed * 1000);
}
