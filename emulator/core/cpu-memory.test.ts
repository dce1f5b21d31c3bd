import { describe, expect, it } from 'vitest';
import { boot, CODE, DATA, exec, runToBreak, STACK_TOP, u } from './test-support/board.ts';
import * as T from './test-support/thumb.ts';

const HARD_FAULT = 3;

function ram32(cpu: { read32(a: number): number }, a: number): number {
  return cpu.read32(a) >>> 0;
}

describe('loads and stores', () => {
  it('STR/LDR with immediate and register offsets', () => {
    const cpu = exec([T.str(1, 0, 4), T.ldr(2, 0, 4), T.strReg(1, 0, 3), T.ldrReg(4, 0, 3)], (c) => {
      c.r[0] = DATA;
      c.r[1] = 0xdeadbeef | 0;
      c.r[3] = 12;
    });
    expect(u(cpu, 2)).toBe(0xdeadbeef);
    expect(u(cpu, 4)).toBe(0xdeadbeef);
    expect(ram32(cpu, DATA + 4)).toBe(0xdeadbeef);
    expect(ram32(cpu, DATA + 12)).toBe(0xdeadbeef);
  });

  it('byte and halfword stores write only their bytes, little-endian', () => {
    const cpu = exec(
      [
        T.str(1, 0, 0),
        T.strb(2, 0, 1),
        T.strh(2, 0, 2),
        T.ldr(3, 0, 0),
        T.strbReg(1, 0, 4),
        T.strhReg(1, 0, 5),
      ],
      (c) => {
        c.r[0] = DATA;
        c.r[1] = 0x11223344;
        c.r[2] = 0xaabbccdd | 0;
        c.r[4] = 8;
        c.r[5] = 10;
      },
    );
    expect(u(cpu, 3).toString(16)).toBe('ccdddd44');
    expect(cpu.read8(DATA + 8)).toBe(0x44);
    expect(cpu.read16(DATA + 10)).toBe(0x3344);
  });

  it('sign- and zero-extending loads', () => {
    const cpu = exec(
      [
        T.ldrb(1, 0, 0),
        T.ldrh(2, 0, 0),
        T.ldrsbReg(3, 0, 6),
        T.ldrshReg(4, 0, 6),
        T.ldrbReg(5, 0, 7),
        T.ldrhReg(6, 0, 7),
      ],
      (c) => {
        c.r[0] = DATA;
        c.write32(DATA, 0x8081fffe | 0);
        c.r[6] = 0;
        c.r[7] = 2;
      },
    );
    expect(u(cpu, 1)).toBe(0xfe);
    expect(u(cpu, 2)).toBe(0xfffe);
    expect(u(cpu, 3)).toBe(0xfffffffe);
    expect(u(cpu, 4)).toBe(0xfffffffe);
    expect(u(cpu, 5)).toBe(0x81);
    expect(u(cpu, 6)).toBe(0x8081);
  });

  it('SP-relative loads and stores', () => {
    const cpu = exec([T.subSp(8), T.strSp(1, 4), T.ldrSp(2, 4), T.addSp(8)], (c) => {
      c.r[1] = 77;
    });
    expect(u(cpu, 2)).toBe(77);
    expect(ram32(cpu, STACK_TOP - 4)).toBe(77);
    expect(cpu.sp).toBe(STACK_TOP);
  });

  it('LDR literal uses Align(PC + 4, 4)', () => {
    // ldr at CODE+2: base = align(CODE+6) = CODE+4; +4 -> CODE+8.
    // Unaligned, CODE+6+4 would fault; the word sits at CODE+8 after a padding halfword.
    const cpu = exec([T.nop(), T.ldrLit(0, 4), T.b(4), 0, T.word(0xcafef00d)]);
    expect(u(cpu, 0)).toBe(0xcafef00d);
  });

  it('reads flash through the alias at 0', () => {
    const cpu = exec([T.ldr(1, 0, 4)], (c) => {
      c.r[0] = 0;
    });
    expect(u(cpu, 1)).toBe(CODE | 1);
  });

  it.each([
    ['LDR', T.ldr(1, 0, 0), 2],
    ['STR', T.str(1, 0, 0), 2],
    ['LDRH', T.ldrh(1, 0, 0), 1],
    ['STRH', T.strh(1, 0, 0), 1],
    ['LDRSH', T.ldrshReg(1, 0, 7), 1],
    ['LDM', T.ldm(0, [1]), 2],
    ['STM', T.stm(0, [1]), 2],
  ])('unaligned %s raises HardFault', (_name, code, offset) => {
    const m = boot([code]);
    m.cpu.r[0] = DATA + offset;
    m.cpu.r[7] = 0;
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
    expect(m.cpu.lastFault).toMatch(/unaligned/);
  });

  it('unmapped addresses raise HardFault; byte access needs no alignment', () => {
    const m = boot([T.ldrb(1, 0, 1), T.ldr(2, 3, 0)]);
    m.cpu.r[0] = DATA;
    m.cpu.r[3] = 0x60000000;
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
    expect(m.cpu.lastFault).toMatch(/0x60000000/);
  });

  it('writing flash raises HardFault', () => {
    const m = boot([T.str(1, 0, 0)]);
    m.cpu.r[0] = CODE;
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
  });
});

describe('multiple loads and stores', () => {
  it('STM writes ascending and writes back', () => {
    const cpu = exec([T.stm(0, [1, 2, 7])], (c) => {
      c.r[0] = DATA;
      c.r[1] = 1;
      c.r[2] = 2;
      c.r[7] = 7;
    });
    expect([ram32(cpu, DATA), ram32(cpu, DATA + 4), ram32(cpu, DATA + 8)]).toEqual([1, 2, 7]);
    expect(u(cpu, 0)).toBe(DATA + 12);
  });

  it('STM with the base as lowest register stores its original value', () => {
    const cpu = exec([T.stm(1, [1, 2])], (c) => {
      c.r[1] = DATA;
      c.r[2] = 5;
    });
    expect(ram32(cpu, DATA)).toBe(DATA);
    expect(u(cpu, 1)).toBe(DATA + 8);
  });

  it('LDM writes back when the base is not in the list', () => {
    const cpu = exec([T.ldm(0, [1, 3])], (c) => {
      c.r[0] = DATA;
      c.write32(DATA, 10);
      c.write32(DATA + 4, 20);
    });
    expect([u(cpu, 1), u(cpu, 3), u(cpu, 0)]).toEqual([10, 20, DATA + 8]);
  });

  it('LDM does not write back when the base is in the list', () => {
    const cpu = exec([T.ldm(2, [0, 2, 3])], (c) => {
      c.r[2] = DATA;
      c.write32(DATA, 1);
      c.write32(DATA + 4, 2);
      c.write32(DATA + 8, 3);
    });
    expect([u(cpu, 0), u(cpu, 2), u(cpu, 3)]).toEqual([1, 2, 3]);
  });

  it('PUSH and POP', () => {
    const cpu = exec([T.push([0, 1, 4, T.LR]), T.pop([5, 6, 7]), T.pop([2])], (c) => {
      c.r[0] = 100;
      c.r[1] = 101;
      c.r[4] = 104;
      c.r[14] = 0x1234;
    });
    expect([u(cpu, 5), u(cpu, 6), u(cpu, 7), u(cpu, 2)]).toEqual([100, 101, 104, 0x1234]);
    expect(cpu.sp).toBe(STACK_TOP);
    expect(ram32(cpu, STACK_TOP - 4)).toBe(0x1234);
  });

  it('POP {pc} branches and ignores nothing but interworks', () => {
    // push {lr} with lr = address of "movs r0, #1" | 1, then pop {pc}
    const target = CODE + 8;
    const cpu = exec([T.push([T.LR]), T.pop([T.PC]), T.movsImm(0, 9), T.bkpt(1), T.movsImm(0, 1)], (c) => {
      c.r[14] = target | 1;
    });
    expect(u(cpu, 0)).toBe(1);
  });

  it('POP {pc} to an even address raises HardFault', () => {
    const m = boot([T.push([T.LR]), T.pop([T.PC])]);
    m.cpu.r[14] = CODE + 8;
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
  });
});

describe('branches', () => {
  it('B, BL, BX LR', () => {
    // CODE: bl -> CODE+6 (movs r0); bx lr -> CODE+4: b -> CODE+10 (movs r1).
    const cpu = exec([T.bl(2), T.b(2), T.movsImm(0, 5), T.bx(T.LR), T.movsImm(1, 6)]);
    expect(u(cpu, 0)).toBe(5);
    expect(u(cpu, 1)).toBe(6);
    expect(u(cpu, 14)).toBe((CODE + 4) | 1);
  });

  it('BL with a large backward offset', () => {
    const far = CODE + 0x10000;
    // at far: bl back to CODE+2
    const m = boot([T.b(-4 + 0x10000 - 0x10000 + 0), T.movsImm(0, 7), T.bkpt(0xfe)], {
      extra: [[far, [T.bl(CODE + 2 - (far + 4))]]],
    });
    m.cpu.pc = far;
    runToBreak(m.cpu);
    expect(u(m.cpu, 0)).toBe(7);
    expect(u(m.cpu, 14)).toBe((far + 4) | 1);
  });

  it('BLX sets LR and branches', () => {
    const cpu = exec([T.blx(3), T.bkpt(1), T.movsImm(0, 3)], (c) => {
      c.r[3] = (CODE + 4) | 1;
    });
    expect(u(cpu, 0)).toBe(3);
    expect(u(cpu, 14)).toBe((CODE + 2) | 1);
  });

  it('BX to an even address raises HardFault; the stacked PC is the target', () => {
    const m = boot([T.bx(3)]);
    m.cpu.r[3] = CODE + 0x40;
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
    expect(m.cpu.read32(m.cpu.sp + 24) >>> 0).toBe(CODE + 0x40);
  });

  it('MOV PC and ADD PC ignore bit 0', () => {
    const cpu = exec(
      [T.mov(T.PC, 3), T.bkpt(1), T.movsImm(0, 1), T.addHi(T.PC, 4), T.bkpt(2), T.movsImm(1, 2)],
      (c) => {
        c.r[3] = CODE + 4 + 1;
        c.r[4] = 1; // pc + 4 + 1 -> skips the bkpt(2)
      },
    );
    expect([u(cpu, 0), u(cpu, 1)]).toEqual([1, 2]);
  });

  const cases: ReadonlyArray<readonly [T.Condition, string, boolean]> = [
    ['eq', '-Z--', true],
    ['eq', '----', false],
    ['ne', '----', true],
    ['cs', '--C-', true],
    ['cc', '--C-', false],
    ['mi', 'N---', true],
    ['pl', 'N---', false],
    ['vs', '---V', true],
    ['vc', '---V', false],
    ['hi', '--C-', true],
    ['hi', '-ZC-', false],
    ['ls', '-ZC-', true],
    ['ls', '--C-', false],
    ['ge', 'N--V', true],
    ['ge', 'N---', false],
    ['lt', 'N---', true],
    ['lt', '----', false],
    ['gt', '----', true],
    ['gt', '-Z--', false],
    ['le', '-Z--', true],
    ['le', '---V', true],
    ['le', 'N--V', false],
  ];
  it.each(cases)('B%s with %s taken=%s', (cond, f, taken) => {
    const cpu = exec([T.bCond(cond, 0), T.movsImm(0, 1), T.movsImm(1, 1)], (c) => {
      c.n = f[0] === 'N' ? 1 : 0;
      c.z = f[1] === 'Z' ? 1 : 0;
      c.c = f[2] === 'C' ? 1 : 0;
      c.v = f[3] === 'V' ? 1 : 0;
    });
    expect(u(cpu, 0)).toBe(taken ? 0 : 1);
    expect(u(cpu, 1)).toBe(1);
  });

  it('a backward conditional branch loop', () => {
    const cpu = exec([
      T.movsImm(0, 10),
      T.movsImm(1, 0),
      T.addsImm(1, 3),
      T.subsImm(0, 1),
      T.bCond('ne', -8),
    ]);
    expect(u(cpu, 1)).toBe(30);
  });
});

describe('undefined instructions', () => {
  it.each([
    ['UDF', [T.udf(0)]],
    ['0xDE00 with an immediate', [T.udf(0x42)]],
    ['CBZ (ARMv7-M only)', [0xb100]],
    ['IT (ARMv7-M only)', [0xbf08]],
    ['a 32-bit ARMv7-M encoding', [0xe92d, 0x4ff0]],
    ['UDF.W', [0xf7f0, 0xa000]],
    ['CPS with F', [0xb661]],
  ])('%s raises HardFault', (_name, code) => {
    const m = boot(code);
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
    expect(m.cpu.read32(m.cpu.sp + 24) >>> 0).toBe(CODE);
  });
});
