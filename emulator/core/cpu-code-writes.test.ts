/**
 * Code the core has already executed, written again, runs as written: by
 * the program itself (code in SRAM), by another bus master, by a loader
 * reprogramming flash. Whatever the core keeps of instructions it has
 * decoded must not outlive the halfwords they were decoded from.
 */
import { describe, expect, it } from 'vitest';
import { FLASH_BASE, SRAM_BASE } from './machine.ts';
import { boot, CODE, DONE, runToBreak } from './test-support/board.ts';
import { addsImm, assemble, b, bCond, bkpt, cmpImm, movsImm, strh } from './test-support/thumb.ts';

const SRAM_CODE = SRAM_BASE + 0x1000;

function bytes(halfwords: readonly number[]): Uint8Array {
  const out = new Uint8Array(halfwords.length * 2);
  halfwords.forEach((h, i) => {
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  });
  return out;
}

/**
 * At `at`: `movs r0, #1`, run twice; between the passes `strh r1, [r2]`
 * writes r1 over it. r0 tells which instruction the second pass ran.
 */
function rewritingLoop(): number[] {
  return assemble(
    movsImm(0, 1), // +0: rewritten
    addsImm(3, 1), // +2
    cmpImm(3, 2), // +4
    bCond('eq', 2), // +6: to +12
    strh(1, 2, 0), // +8
    b(-14), // +10: to +0
    bkpt(DONE), // +12
  );
}

describe('code written after it ran', () => {
  it('runs as rewritten by the program itself, in SRAM', () => {
    const m = boot([bkpt(DONE)]);
    m.bus.load(SRAM_CODE, bytes(rewritingLoop()));
    const cpu = m.cpu;
    cpu.pc = SRAM_CODE;
    cpu.r[1] = movsImm(0, 2);
    cpu.r[2] = SRAM_CODE;
    cpu.r[3] = 0;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[3]).toBe(2);
    expect(cpu.r[0]).toBe(2);
  });

  it('runs as rewritten by another bus master, in SRAM', () => {
    const m = boot([bkpt(DONE)]);
    const code = assemble(movsImm(0, 1), bkpt(DONE));
    m.bus.load(SRAM_CODE, bytes(code));
    const cpu = m.cpu;
    cpu.pc = SRAM_CODE;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[0]).toBe(1);
    m.bus.write(SRAM_CODE, movsImm(0, 3), 2); // as a DMA writes
    cpu.resume();
    cpu.pc = SRAM_CODE;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[0]).toBe(3);
  });

  it('runs as reprogrammed, in flash', () => {
    const m = boot([movsImm(0, 1), bkpt(DONE)]);
    const cpu = m.cpu;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[0]).toBe(1);
    m.bus.load(CODE, bytes([movsImm(0, 4)]));
    cpu.resume();
    cpu.pc = CODE;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[0]).toBe(4);
    // The same flash through its alias at 0.
    m.bus.load(CODE - FLASH_BASE, bytes([movsImm(0, 5)]));
    cpu.resume();
    cpu.pc = CODE;
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(cpu.r[0]).toBe(5);
  });
});
