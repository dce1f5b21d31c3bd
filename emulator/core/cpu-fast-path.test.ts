/**
 * The core's fast paths against its exact path, on random programs: loads,
 * stores, PUSH/POP, LDM/STM and literal loads that reach SRAM and flash
 * directly (`run`), one instruction at a time (`step`), and with an
 * observer attached, where no region is cached and every access goes
 * through the bus (`observed`). All three must end in the same state:
 * registers, flags, SRAM, cycles, and the same fault where one happens
 * (unaligned, unmapped, a frame running off the end of SRAM).
 */
import { describe, expect, it } from 'vitest';
import type { Cpu } from './cpu.ts';
import { FLASH_BASE, FLASH_SIZE, type Machine, SRAM_BASE, SRAM_SIZE } from './machine.ts';
import { boot, CODE, DONE } from './test-support/board.ts';
import { bkpt, nop } from './test-support/thumb.ts';

/** mulberry32: a small seeded generator, so a failure names its seed. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n) >>> 0;
  };
}

const SRAM_END = SRAM_BASE + SRAM_SIZE;
/** Where a program placed in SRAM starts (above the data its pointers reach). */
const SRAM_CODE = SRAM_BASE + 0x4000;

/**
 * One random instruction, with the MOVS that sets its offset register where
 * it has one. r0-r3 carry data; r4 and r5 point at words in SRAM, r6 at
 * the end of SRAM or at an odd address, r7 into flash: nothing but LDM/STM
 * writeback changes r4-r7, so most accesses land, and the few through r6
 * (and the stores through r7, and accesses whose offset's MOVS a branch
 * skipped) fault. Branches only skip forward.
 */
function instruction(rnd: (n: number) => number): number[] {
  const lo = () => rnd(8);
  const data = () => rnd(4);
  const base = (isLoad: boolean) => {
    const k = rnd(80);
    if (k === 0) return 6;
    if (k === 1) return 7;
    return isLoad ? [4, 5, 7][k % 3]! : 4 + (k & 1);
  };
  switch (rnd(24)) {
    case 0:
      return [(rnd(3) << 11) | (rnd(32) << 6) | (lo() << 3) | data()]; // LSLS/LSRS/ASRS imm
    case 1:
      return [0x1800 | (rnd(4) << 9) | (lo() << 6) | (lo() << 3) | data()]; // ADDS/SUBS reg, imm3
    case 2:
      return [0x2000 | (rnd(4) << 11) | (data() << 8) | rnd(256)]; // MOVS/CMP/ADDS/SUBS imm8
    case 3:
    case 4:
      return [0x4000 | (rnd(16) << 6) | (lo() << 3) | data()]; // data processing
    case 5:
      return [0x4800 | (data() << 8) | rnd(64)]; // LDR literal
    case 6:
    case 7: {
      // STR, STRH, STRB, LDRSB, LDR, LDRH, LDRB, LDRSH with a register offset
      const op = rnd(8);
      const rm = data();
      const offset = 4 * rnd(32);
      return [0x2000 | (rm << 8) | offset, 0x5000 | (op << 9) | (rm << 6) | (base(op >= 3) << 3) | data()];
    }
    case 8:
    case 9: {
      const l = rnd(2);
      return [0x6000 | (l << 11) | (rnd(32) << 6) | (base(l === 1) << 3) | data()]; // STR/LDR imm
    }
    case 10: {
      const l = rnd(2);
      return [0x7000 | (l << 11) | (rnd(32) << 6) | (base(l === 1) << 3) | data()]; // STRB/LDRB imm
    }
    case 11: {
      const l = rnd(2);
      return [0x8000 | (l << 11) | (rnd(32) << 6) | (base(l === 1) << 3) | data()]; // STRH/LDRH imm
    }
    case 12:
      return [0x9000 | (rnd(2) << 11) | (data() << 8) | rnd(32)]; // STR/LDR SP-relative
    case 13:
      return [0xa000 | (rnd(2) << 11) | (data() << 8) | rnd(256)]; // ADR, ADD Rd, SP, #imm
    case 14:
      return [0xb000 | (rnd(2) << 7) | rnd(8)]; // ADD/SUB SP, #imm
    case 15:
      return [0xb200 | (rnd(4) << 6) | (lo() << 3) | data()]; // SXTH/SXTB/UXTH/UXTB
    case 16:
    case 17:
      return [0xb400 | (rnd(2) << 8) | (1 + rnd(255))]; // PUSH, with or without LR
    case 18:
      return [0xbc00 | (1 + rnd(15))]; // POP of data registers
    case 19:
      return [0xba00 | ([0, 1, 3][rnd(3)]! << 6) | (lo() << 3) | data()]; // REV, REV16, REVSH
    case 20: {
      const l = rnd(2);
      return [0xc000 | (l << 11) | (base(l === 1) << 8) | (1 + rnd(15))]; // STM/LDM of data registers
    }
    case 21:
      return [0xd000 | (rnd(14) << 8) | rnd(3)]; // B<cond> forward
    case 22:
      return [0xe000 | rnd(3)]; // B forward
    default:
      return [0x4400 | (rnd(3) << 8) | (lo() << 3) | data()]; // ADD/CMP/MOV with low registers
  }
}

/** r4, r5: words in SRAM; r6: near the end of SRAM, or odd; r7: flash. */
function pointer(rnd: (n: number) => number, r: number): number {
  if (r === 7) return FLASH_BASE + 4 * rnd(FLASH_SIZE / 16);
  if (r === 6) return rnd(2) === 0 ? SRAM_END - 4 * rnd(40) : SRAM_BASE + 1 + 2 * rnd(0x1000);
  return SRAM_BASE + 4 * rnd(0x7f0);
}

interface Program {
  readonly code: number[];
  readonly regs: number[];
  readonly sp: number;
  readonly inSram: boolean;
  readonly waitStates: number;
  readonly sram: Uint8Array;
}

function program(seed: number): Program {
  const rnd = random(seed);
  const code: number[] = [];
  for (let i = 0; i < 120; i++) code.push(...instruction(rnd));
  // Branch targets and literal pools past the end stay inside the program.
  code.push(nop(), nop(), nop(), nop(), bkpt(DONE));
  for (let i = 0; i < 64; i++) code.push(rnd(0x10000));
  const regs = Array.from({ length: 8 }, (_, i) =>
    i < 4 ? (rnd(0x10000) << 16) | rnd(0x10000) : pointer(rnd, i),
  );
  const sp = rnd(8) === 0 ? SRAM_END - 4 * rnd(8) : SRAM_BASE + 0x2000 + 4 * rnd(0x400);
  const sram = new Uint8Array(0x4000);
  for (let i = 0; i < sram.length; i++) sram[i] = rnd(256);
  return { code, regs, sp, inSram: rnd(4) === 0, waitStates: rnd(3), sram };
}

type Mode = 'run' | 'step' | 'observed';

function load(p: Program): Machine {
  const m = boot([bkpt(DONE)]);
  m.bus.load(SRAM_BASE, p.sram);
  const at = p.inSram ? SRAM_CODE : CODE;
  const bytes = new Uint8Array(p.code.length * 2);
  p.code.forEach((h, i) => {
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = h >>> 8;
  });
  m.bus.load(at, bytes);
  const cpu = m.cpu;
  cpu.pc = at;
  p.regs.forEach((v, i) => {
    cpu.r[i] = v;
  });
  cpu.r[13] = p.sp;
  if (p.waitStates > 0)
    cpu.setFetchTiming({
      base: FLASH_BASE,
      size: FLASH_SIZE,
      waitStates: p.waitStates,
      lineBytes: 8,
      prefetch: p.waitStates === 1,
      cacheLines: 4,
    });
  return m;
}

function finish(cpu: Cpu, mode: Mode): string {
  if (mode === 'step') {
    for (let i = 0; i < 10_000; i++) {
      const res = cpu.step();
      if (res.reason !== 'step') return JSON.stringify(res);
    }
    return 'no end';
  }
  if (mode === 'observed') cpu.setObserver({ shouldStop: () => false, access: () => {} });
  return JSON.stringify(cpu.run(1e9));
}

function outcome(p: Program, mode: Mode): string {
  const m = load(p);
  const cpu = m.cpu;
  const end = finish(cpu, mode);
  return JSON.stringify({
    end,
    r: [...cpu.r].map((v) => v >>> 0),
    pc: cpu.pc,
    xpsr: cpu.xpsr,
    cycles: cpu.cycles,
    fault: cpu.lastFault,
    sram: Buffer.from(m.sram).toString('base64'),
  });
}

describe('fast paths against the exact path', () => {
  it('end random programs in the same state run in batches, stepped, and observed', () => {
    const ends = new Map<string, number>();
    for (let seed = 1; seed <= 400; seed++) {
      const p = program(seed);
      const batched = outcome(p, 'run');
      expect(outcome(p, 'step'), `seed ${seed}, stepped`).toBe(batched);
      expect(outcome(p, 'observed'), `seed ${seed}, observed`).toBe(batched);
      const end = (JSON.parse(JSON.parse(batched).end) as { reason: string; imm?: number }).imm;
      ends.set(String(end), (ends.get(String(end)) ?? 0) + 1);
    }
    // The programs reach their end often, and fault (HardFault's BKPT 3) often too.
    expect(ends.get(String(DONE)) ?? 0).toBeGreaterThan(80);
    expect(ends.get('3') ?? 0).toBeGreaterThan(80);
  });
});
