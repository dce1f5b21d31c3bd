import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, decodeTable, Op, type OpName } from './decoder.ts';
import * as T from './test-support/thumb.ts';

const opOf = (hw: number): number => decode(hw) & 0xff;

describe('decoder', () => {
  it('the executor labels each case with the Op it implements', () => {
    // cpu.ts uses literal case numbers for speed; check each against its comment.
    const source = readFileSync(new URL('./cpu.ts', import.meta.url), 'utf8');
    const pattern = /((?:case \d+:\s*)+)\{?\s*\/\/ ([^\n]+)/g;
    const seen = new Set<number>();
    for (const match of source.matchAll(pattern)) {
      const labels = [...match[1]!.matchAll(/case (\d+):/g)].map((m) => Number(m[1]));
      const names = match[2]!
        .split(/[:;(]/)[0]!
        .split(',')
        .map((s) => s.trim().split(' ')[0]!);
      expect(names.length, `comment for cases ${labels}`).toBe(labels.length);
      labels.forEach((label, i) => {
        expect(Op[names[i] as OpName], `case ${label} is commented ${names[i]}`).toBe(label);
        seen.add(label);
      });
    }
    const handledByDefault = new Set<number>([Op.UNDEFINED, Op.UDF]);
    for (const [name, value] of Object.entries(Op)) {
      if (!handledByDefault.has(value)) expect(seen.has(value), `no case for ${name}`).toBe(true);
    }
  });

  it('builds a 65,536-entry table once', () => {
    const t = decodeTable();
    expect(t.length).toBe(0x10000);
    expect(decodeTable()).toBe(t);
  });

  it.each<[string, number, OpName]>([
    ['movs r0, r1 is LSLS #0', T.movs(0, 1), 'LSLS_IMM'],
    ['adds r1, r2, #7', T.addsImm3(1, 2, 7), 'ADDS_IMM3'],
    ['bx lr', T.bx(T.LR), 'BX'],
    ['blx r3', T.blx(3), 'BLX'],
    ['bl prefix', T.bl(0)[0]!, 'T32'],
    ['mrs prefix', 0xf3ef, 'T32'],
    ['svc', T.svc(1), 'SVC'],
    ['udf', T.udf(1), 'UDF'],
    ['beq', T.bCond('eq', 0), 'BEQ'],
    ['ble', T.bCond('le', 0), 'BLE'],
    ['wfi', T.wfi(), 'WFI'],
    ['hint 0xbf50 is a NOP', 0xbf50, 'NOP'],
    ['cbz', 0xb100, 'UNDEFINED'],
    ['cbnz', 0xb900, 'UNDEFINED'],
    ['it', 0xbf18, 'UNDEFINED'],
    ['rev with op 2 (unallocated)', 0xba80, 'UNDEFINED'],
    ['blx with nonzero low bits', 0x4781, 'UNDEFINED'],
    ['blx pc', 0x47f8, 'UNDEFINED'],
    ['32-bit 0b11101 space', 0xe800, 'UNDEFINED'],
    ['32-bit 0b11111 space', 0xf800, 'UNDEFINED'],
    ['ldm with an empty list', 0xc800, 'UNDEFINED'],
    ['push with an empty list', 0xb400, 'UNDEFINED'],
  ])('%s', (_name, hw, op) => {
    expect(opOf(hw)).toBe(Op[op]);
  });

  it('pre-extracts and sign-extends branch offsets', () => {
    expect(decode(T.b(-2048)) >> 20).toBe(-2048);
    expect(decode(T.b(2046)) >> 20).toBe(2046);
    expect(decode(T.bCond('ne', -256)) >> 20).toBe(-256);
    expect(decode(T.ldrLit(0, 1020)) >>> 20).toBe(1020);
  });

  it('PUSH/POP carry their register count', () => {
    const d = decode(T.push([0, 1, 2, 7, T.LR]));
    expect((d >>> 16) & 15).toBe(5);
    expect(d >>> 20).toBe(0x187);
  });
});
