import { describe, expect, it } from 'vitest';
import type { Cpu } from './cpu.ts';
import { exec, flags, u } from './test-support/board.ts';
import * as T from './test-support/thumb.ts';

/** Run one instruction with r0..r7 preset and flags "NZCV"-style preset. */
function one(code: T.Code, regs: readonly number[], flagsIn = '----'): Cpu {
  return exec([code], (cpu) => {
    regs.forEach((v, i) => {
      cpu.r[i] = v;
    });
    cpu.n = flagsIn[0] === 'N' ? 1 : 0;
    cpu.z = flagsIn[1] === 'Z' ? 1 : 0;
    cpu.c = flagsIn[2] === 'C' ? 1 : 0;
    cpu.v = flagsIn[3] === 'V' ? 1 : 0;
  });
}

type Case = readonly [
  name: string,
  code: T.Code,
  regs: number[],
  flagsIn: string,
  r: number,
  result: number,
  flagsOut: string,
];

function table(cases: readonly Case[]): void {
  it.each(cases)('%s', (_name, code, regs, flagsIn, rd, result, flagsOut) => {
    const cpu = one(code, regs, flagsIn);
    expect(u(cpu, rd).toString(16)).toBe((result >>> 0).toString(16));
    expect(flags(cpu)).toBe(flagsOut);
  });
}

describe('add and subtract', () => {
  table([
    ['ADDS 1+2', T.adds(2, 0, 1), [1, 2], '----', 2, 3, '----'],
    ['ADDS signed overflow', T.adds(2, 0, 1), [0x7fffffff, 1], '----', 2, 0x80000000, 'N--V'],
    ['ADDS carry to zero', T.adds(2, 0, 1), [0xffffffff, 1], '----', 2, 0, '-ZC-'],
    ['ADDS carry and overflow', T.adds(2, 0, 1), [0x80000000, 0x80000000], '----', 2, 0, '-ZCV'],
    ['ADDS imm3', T.addsImm3(1, 0, 7), [0xfffffffa], '----', 1, 1, '--C-'],
    ['ADDS imm8 overflow', T.addsImm(0, 1), [0x7fffffff], '----', 0, 0x80000000, 'N--V'],
    ['SUBS equal', T.subs(2, 0, 1), [5, 5], '----', 2, 0, '-ZC-'],
    ['SUBS borrow', T.subs(2, 0, 1), [0, 1], '--C-', 2, 0xffffffff, 'N---'],
    ['SUBS min-1 overflows', T.subs(2, 0, 1), [0x80000000, 1], '----', 2, 0x7fffffff, '--CV'],
    ['SUBS pos-neg overflows', T.subs(2, 0, 1), [0x7fffffff, 0xffffffff], '----', 2, 0x80000000, 'N--V'],
    ['SUBS imm3 borrow', T.subsImm3(1, 0, 1), [0], '----', 1, 0xffffffff, 'N---'],
    ['SUBS imm8', T.subsImm(0, 200), [200], '----', 0, 0, '-ZC-'],
    ['ADCS carry in', T.adcs(0, 1), [0xffffffff, 0], '--C-', 0, 0, '-ZC-'],
    ['ADCS carry in overflows', T.adcs(0, 1), [0x7fffffff, 0], '--C-', 0, 0x80000000, 'N--V'],
    ['ADCS max+max+1', T.adcs(0, 1), [0xffffffff, 0xffffffff], '--C-', 0, 0xffffffff, 'N-C-'],
    ['ADCS no carry in', T.adcs(0, 1), [0xffffffff, 0], '----', 0, 0xffffffff, 'N---'],
    ['SBCS carry set', T.sbcs(0, 1), [5, 3], '--C-', 0, 2, '--C-'],
    ['SBCS carry clear borrows one more', T.sbcs(0, 1), [5, 3], '----', 0, 1, '--C-'],
    ['SBCS 0-0-1', T.sbcs(0, 1), [0, 0], '----', 0, 0xffffffff, 'N---'],
    ['SBCS overflow', T.sbcs(0, 1), [0x80000000, 0], '----', 0, 0x7fffffff, '--CV'],
    ['SBCS equal with carry', T.sbcs(0, 1), [7, 7], '--C-', 0, 0, '-ZC-'],
    ['RSBS 0', T.rsbs(0, 1), [9, 0], '----', 0, 0, '-ZC-'],
    ['RSBS 1', T.rsbs(0, 1), [9, 1], '--C-', 0, 0xffffffff, 'N---'],
    ['RSBS min', T.rsbs(0, 1), [9, 0x80000000], '----', 0, 0x80000000, 'N--V'],
    ['CMP imm equal', T.cmpImm(0, 42), [42], '----', 0, 42, '-ZC-'],
    ['CMP imm below', T.cmpImm(0, 43), [42], '----', 0, 42, 'N---'],
    ['CMP reg overflow', T.cmp(0, 1), [0x80000000, 1], '----', 0, 0x80000000, '--CV'],
    ['CMN wraps', T.cmn(0, 1), [1, 0xffffffff], '----', 0, 1, '-ZC-'],
    ['CMN overflow', T.cmn(0, 1), [0x7fffffff, 0x7fffffff], '----', 0, 0x7fffffff, 'N--V'],
    ['CMP high register r8 (0) with r0', T.cmpHi(8, 0), [3], '----', 0, 3, 'N---'],
  ]);

  it('CMP of a high register reads it', () => {
    const cpu = one(T.cmpHi(9, 1), [0, 10], '----');
    expect(flags(cpu)).toBe('N---'); // r9 = 0 after reset, 0 - 10
  });
});

describe('logical, move, multiply', () => {
  table([
    ['ANDS keeps C and V', T.ands(0, 1), [0xf0f0, 0x0ff0], '--CV', 0, 0x00f0, '--CV'],
    ['ANDS zero', T.ands(0, 1), [0xf0, 0x0f], 'N---', 0, 0, '-Z--'],
    ['EORS', T.eors(0, 1), [0xffffffff, 0x0000ffff], '----', 0, 0xffff0000, 'N---'],
    ['ORRS', T.orrs(0, 1), [0x80000000, 1], '---V', 0, 0x80000001, 'N--V'],
    ['BICS', T.bics(0, 1), [0xff, 0x0f], '--C-', 0, 0xf0, '--C-'],
    ['MVNS', T.mvns(0, 1), [0, 0], '----', 0, 0xffffffff, 'N---'],
    ['TST sets N', T.tst(0, 1), [0x80000000, 0x80000000], '--C-', 0, 0x80000000, 'N-C-'],
    ['TST zero', T.tst(0, 1), [1, 2], '----', 0, 1, '-Z--'],
    ['MOVS imm clears N, keeps C V', T.movsImm(0, 0), [5], 'N-CV', 0, 0, '-ZCV'],
    ['MOVS imm 255', T.movsImm(3, 255), [], '-Z--', 3, 255, '----'],
    ['MOVS reg (LSLS #0) keeps C', T.movs(0, 1), [5, 0x80000000], '--C-', 0, 0x80000000, 'N-C-'],
    ['MULS', T.muls(0, 1), [7, 6], '----', 0, 42, '----'],
    ['MULS keeps C and V', T.muls(0, 1), [0x10000, 0x10000], '--CV', 0, 0, '-ZCV'],
    ['MULS low 32 bits, negative', T.muls(0, 1), [0xffffffff, 3], '----', 0, 0xfffffffd, 'N---'],
    [
      'MULS big operands',
      T.muls(0, 1),
      [0x12345678, 0x9abcdef1],
      '----',
      0,
      Math.imul(0x12345678, 0x9abcdef1),
      '----',
    ],
  ]);

  it('MOV and ADD with high registers set no flags', () => {
    const cpu = exec([T.mov(8, 0), T.addHi(8, 1), T.mov(2, 8), T.addHi(3, 8)], (c) => {
      c.r[0] = 0xffffffff;
      c.r[1] = 1;
      c.r[3] = 10;
    });
    expect(u(cpu, 8)).toBe(0);
    expect(u(cpu, 2)).toBe(0);
    expect(u(cpu, 3)).toBe(10);
    expect(flags(cpu)).toBe('----');
  });
});

describe('shifts', () => {
  table([
    ['LSLS #1 carries out bit 31', T.lsls(0, 1, 1), [0, 0x80000000], '----', 0, 0, '-ZC-'],
    ['LSLS #31', T.lsls(0, 1, 31), [0, 3], '----', 0, 0x80000000, 'N-C-'],
    ['LSRS #1', T.lsrs(0, 1, 1), [0, 3], '----', 0, 1, '--C-'],
    ['LSRS #32 (encoded 0)', T.lsrs(0, 1, 32), [0, 0x80000000], '----', 0, 0, '-ZC-'],
    ['LSRS #32 of positive', T.lsrs(0, 1, 32), [0, 0x7fffffff], '--C-', 0, 0, '-Z--'],
    ['ASRS #1 negative', T.asrs(0, 1, 1), [0, 0x80000001], '----', 0, 0xc0000000, 'N-C-'],
    ['ASRS #32 (encoded 0) negative', T.asrs(0, 1, 32), [0, 0x80000000], '----', 0, 0xffffffff, 'N-C-'],
    ['ASRS #32 positive', T.asrs(0, 1, 32), [0, 0x7fffffff], '--C-', 0, 0, '-Z--'],
    ['LSLS reg by 0 keeps C', T.lslsReg(0, 1), [0x80000000, 0], '--C-', 0, 0x80000000, 'N-C-'],
    ['LSLS reg by 256 is by 0', T.lslsReg(0, 1), [5, 256], '--C-', 0, 5, '--C-'],
    ['LSLS reg by 1', T.lslsReg(0, 1), [0xc0000000, 1], '----', 0, 0x80000000, 'N-C-'],
    ['LSLS reg by 31', T.lslsReg(0, 1), [3, 31], '----', 0, 0x80000000, 'N-C-'],
    ['LSLS reg by 32: C is bit 0', T.lslsReg(0, 1), [1, 32], '----', 0, 0, '-ZC-'],
    ['LSLS reg by 33: C is 0', T.lslsReg(0, 1), [0xffffffff, 33], '--C-', 0, 0, '-Z--'],
    ['LSRS reg by 0', T.lsrsReg(0, 1), [0x80000000, 0], '----', 0, 0x80000000, 'N---'],
    ['LSRS reg by 31', T.lsrsReg(0, 1), [0xc0000000, 31], '----', 0, 1, '--C-'],
    ['LSRS reg by 32: C is bit 31', T.lsrsReg(0, 1), [0x80000000, 32], '----', 0, 0, '-ZC-'],
    ['LSRS reg by 33: C is 0', T.lsrsReg(0, 1), [0xffffffff, 33], '--C-', 0, 0, '-Z--'],
    ['LSRS reg by 0xff', T.lsrsReg(0, 1), [0xffffffff, 0xff], '--C-', 0, 0, '-Z--'],
    ['ASRS reg by 0', T.asrsReg(0, 1), [0x80000000, 0], '--C-', 0, 0x80000000, 'N-C-'],
    ['ASRS reg by 4', T.asrsReg(0, 1), [0x80000008, 4], '----', 0, 0xf8000000, 'N-C-'],
    ['ASRS reg by 32 negative', T.asrsReg(0, 1), [0x80000000, 32], '----', 0, 0xffffffff, 'N-C-'],
    ['ASRS reg by 40 positive', T.asrsReg(0, 1), [0x7fffffff, 40], '--C-', 0, 0, '-Z--'],
    ['ASRS reg by 200 negative', T.asrsReg(0, 1), [0x90000000, 200], '----', 0, 0xffffffff, 'N-C-'],
    ['RORS by 0 keeps C', T.rors(0, 1), [0x12345678, 0], '--C-', 0, 0x12345678, '--C-'],
    ['RORS by 4', T.rors(0, 1), [0x12345678, 4], '----', 0, 0x81234567, 'N-C-'],
    ['RORS by 1 of 1', T.rors(0, 1), [1, 1], '----', 0, 0x80000000, 'N-C-'],
    ['RORS by 32: value kept, C = bit 31', T.rors(0, 1), [0x80000001, 32], '----', 0, 0x80000001, 'N-C-'],
    ['RORS by 64 positive clears C', T.rors(0, 1), [0x7fffffff, 64], '--C-', 0, 0x7fffffff, '----'],
    ['RORS by 36', T.rors(0, 1), [0x12345678, 36], '----', 0, 0x81234567, 'N-C-'],
  ]);
});

describe('extend and reverse', () => {
  table([
    ['SXTB', T.sxtb(0, 1), [0, 0x12345680], '----', 0, 0xffffff80, '----'],
    ['SXTB positive', T.sxtb(0, 1), [0, 0xffffff7f], '----', 0, 0x7f, '----'],
    ['SXTH', T.sxth(0, 1), [0, 0x00018000], '----', 0, 0xffff8000, '----'],
    ['UXTB', T.uxtb(0, 1), [0, 0xffffff80], '----', 0, 0x80, '----'],
    ['UXTH', T.uxth(0, 1), [0, 0xffff8001], '----', 0, 0x8001, '----'],
    ['REV', T.rev(0, 1), [0, 0x12345678], '----', 0, 0x78563412, '----'],
    ['REV16', T.rev16(0, 1), [0, 0x12345678], '----', 0, 0x34127856, '----'],
    ['REVSH negative', T.revsh(0, 1), [0, 0x12345680], '----', 0, 0xffff8056, '----'],
    ['REVSH positive', T.revsh(0, 1), [0, 0xffff7f12], '----', 0, 0x127f, '----'],
  ]);
});

describe('PC-relative values', () => {
  it('ADR and MOV from PC see the address + 4, ADR aligned down', () => {
    // At CODE (word aligned): mov r0, pc -> CODE+4; at CODE+2: adr r1, #8 -> align(CODE+6) + 8 = CODE+12.
    const cpu = exec([T.mov(0, T.PC), T.adr(1, 8)]);
    expect(u(cpu, 0)).toBe(0x08000204);
    expect(u(cpu, 1)).toBe(0x0800020c);
  });

  it('ADD Rd, SP, #imm and ADD/SUB SP, #imm', () => {
    const cpu = exec([T.subSp(16), T.addRdSp(0, 8), T.addSp(4), T.mov(1, T.SP)]);
    expect(u(cpu, 0)).toBe(0x20009000 - 16 + 8);
    expect(u(cpu, 1)).toBe(0x20009000 - 12);
  });

  it('ADD SP, Rm keeps SP word aligned', () => {
    const cpu = exec([T.addHi(T.SP, 0)], (c) => {
      c.r[0] = 6;
    });
    expect(cpu.sp).toBe(0x20009004);
  });
});
