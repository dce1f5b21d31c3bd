/**
 * Thumb (ARMv6-M) decoder: every 16-bit halfword is decoded once into a
 * 32-bit word packing an operation number and its operand fields:
 *
 *   bits 0-7   operation (`Op`)
 *   bits 8-11  field a (usually Rd / Rt / Rdn / condition)
 *   bits 12-15 field b (usually Rn / Rm)
 *   bits 16-19 field c (usually Rm, or a register count)
 *   bits 20-31 imm, signed (read with `d >> 20`): already scaled and
 *              sign-extended, so the executor adds it without further work
 *
 * Encodings follow DDI 0419 (ARMv6-M ARM) §A5.2 (16-bit) and §A5.3 (32-bit).
 */

/**
 * Operation numbers. The executor's switch uses these as literal case labels
 * (so the engine builds a jump table); a test checks the two agree.
 */
export const Op = {
  UNDEFINED: 0,
  LSLS_IMM: 1,
  LSRS_IMM: 2,
  ASRS_IMM: 3,
  ADDS_REG: 4,
  SUBS_REG: 5,
  ADDS_IMM3: 6,
  SUBS_IMM3: 7,
  MOVS_IMM: 8,
  CMP_IMM: 9,
  ADDS_IMM8: 10,
  SUBS_IMM8: 11,
  ANDS: 12,
  EORS: 13,
  LSLS_REG: 14,
  LSRS_REG: 15,
  ASRS_REG: 16,
  ADCS: 17,
  SBCS: 18,
  RORS: 19,
  TST: 20,
  RSBS: 21,
  CMP_REG: 22,
  CMN: 23,
  ORRS: 24,
  MULS: 25,
  BICS: 26,
  MVNS: 27,
  ADD_HI: 28,
  CMP_HI: 29,
  MOV_HI: 30,
  BX: 31,
  BLX: 32,
  LDR_LIT: 33,
  STR_REG: 34,
  STRH_REG: 35,
  STRB_REG: 36,
  LDRSB_REG: 37,
  LDR_REG: 38,
  LDRH_REG: 39,
  LDRB_REG: 40,
  LDRSH_REG: 41,
  STR_IMM: 42,
  LDR_IMM: 43,
  STRB_IMM: 44,
  LDRB_IMM: 45,
  STRH_IMM: 46,
  LDRH_IMM: 47,
  STR_SP: 48,
  LDR_SP: 49,
  ADR: 50,
  ADD_SP_IMM8: 51,
  ADD_SP_IMM7: 52,
  SUB_SP_IMM7: 53,
  SXTH: 54,
  SXTB: 55,
  UXTH: 56,
  UXTB: 57,
  PUSH: 58,
  POP: 59,
  CPSIE: 60,
  CPSID: 61,
  REV: 62,
  REV16: 63,
  REVSH: 64,
  BKPT: 65,
  NOP: 66,
  YIELD: 67,
  WFE: 68,
  WFI: 69,
  SEV: 70,
  STM: 71,
  LDM: 72,
  BEQ: 73,
  BNE: 74,
  BCS: 75,
  BCC: 76,
  BMI: 77,
  BPL: 78,
  BVS: 79,
  BVC: 80,
  BHI: 81,
  BLS: 82,
  BGE: 83,
  BLT: 84,
  BGT: 85,
  BLE: 86,
  UDF: 87,
  SVC: 88,
  B: 89,
  T32: 90,
} as const;

export type OpName = keyof typeof Op;

function pack(op: number, a: number, b: number, c: number, imm: number): number {
  return (op | (a << 8) | (b << 12) | (c << 16) | (imm << 20)) >>> 0;
}

function signExtend(value: number, bits: number): number {
  const shift = 32 - bits;
  return (value << shift) >> shift;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

const DATA_PROCESSING = [
  Op.ANDS,
  Op.EORS,
  Op.LSLS_REG,
  Op.LSRS_REG,
  Op.ASRS_REG,
  Op.ADCS,
  Op.SBCS,
  Op.RORS,
  Op.TST,
  Op.RSBS,
  Op.CMP_REG,
  Op.CMN,
  Op.ORRS,
  Op.MULS,
  Op.BICS,
  Op.MVNS,
] as const;

const LOAD_STORE_REG = [
  Op.STR_REG,
  Op.STRH_REG,
  Op.STRB_REG,
  Op.LDRSB_REG,
  Op.LDR_REG,
  Op.LDRH_REG,
  Op.LDRB_REG,
  Op.LDRSH_REG,
] as const;

/** Decode one halfword (the first halfword, for 32-bit instructions). */
export function decode(hw: number): number {
  const lo3 = hw & 7;
  const mid3 = (hw >>> 3) & 7;
  const hi3 = (hw >>> 6) & 7;
  switch (hw >>> 11) {
    case 0b00000:
      return pack(Op.LSLS_IMM, lo3, mid3, 0, (hw >>> 6) & 31);
    case 0b00001:
      return pack(Op.LSRS_IMM, lo3, mid3, 0, (hw >>> 6) & 31);
    case 0b00010:
      return pack(Op.ASRS_IMM, lo3, mid3, 0, (hw >>> 6) & 31);
    case 0b00011: {
      const ops = [Op.ADDS_REG, Op.SUBS_REG, Op.ADDS_IMM3, Op.SUBS_IMM3] as const;
      const op = ops[(hw >>> 9) & 3]!;
      return op <= Op.SUBS_REG ? pack(op, lo3, mid3, hi3, 0) : pack(op, lo3, mid3, 0, hi3);
    }
    case 0b00100:
      return pack(Op.MOVS_IMM, (hw >>> 8) & 7, 0, 0, hw & 0xff);
    case 0b00101:
      return pack(Op.CMP_IMM, (hw >>> 8) & 7, 0, 0, hw & 0xff);
    case 0b00110:
      return pack(Op.ADDS_IMM8, (hw >>> 8) & 7, 0, 0, hw & 0xff);
    case 0b00111:
      return pack(Op.SUBS_IMM8, (hw >>> 8) & 7, 0, 0, hw & 0xff);
    case 0b01000: {
      if ((hw & 0x0400) === 0) {
        // §A6.7 data processing: Rdn in a, Rm in b.
        return pack(DATA_PROCESSING[(hw >>> 6) & 15]!, lo3, mid3, 0, 0);
      }
      // Special data processing and branch/exchange (§A5.2.3).
      const rdn = ((hw >>> 4) & 8) | lo3;
      const rm = (hw >>> 3) & 15;
      switch ((hw >>> 8) & 3) {
        case 0:
          return pack(Op.ADD_HI, rdn, rm, 0, 0);
        case 1:
          // CMP with two low registers or with PC is UNPREDICTABLE; executed as a compare.
          return pack(Op.CMP_HI, rdn, rm, 0, 0);
        case 2:
          return pack(Op.MOV_HI, rdn, rm, 0, 0);
        default:
          // Bits 2:0 should be zero; BLX PC is UNPREDICTABLE (§A6.7.14).
          if ((hw & 7) !== 0) return pack(Op.UNDEFINED, 0, 0, 0, 0);
          if (hw & 0x80) return rm === 15 ? pack(Op.UNDEFINED, 0, 0, 0, 0) : pack(Op.BLX, 0, rm, 0, 0);
          return pack(Op.BX, 0, rm, 0, 0);
      }
    }
    case 0b01001:
      return pack(Op.LDR_LIT, (hw >>> 8) & 7, 0, 0, (hw & 0xff) << 2);
    case 0b01010:
    case 0b01011:
      return pack(LOAD_STORE_REG[(hw >>> 9) & 7]!, lo3, mid3, hi3, 0);
    case 0b01100:
      return pack(Op.STR_IMM, lo3, mid3, 0, ((hw >>> 6) & 31) << 2);
    case 0b01101:
      return pack(Op.LDR_IMM, lo3, mid3, 0, ((hw >>> 6) & 31) << 2);
    case 0b01110:
      return pack(Op.STRB_IMM, lo3, mid3, 0, (hw >>> 6) & 31);
    case 0b01111:
      return pack(Op.LDRB_IMM, lo3, mid3, 0, (hw >>> 6) & 31);
    case 0b10000:
      return pack(Op.STRH_IMM, lo3, mid3, 0, ((hw >>> 6) & 31) << 1);
    case 0b10001:
      return pack(Op.LDRH_IMM, lo3, mid3, 0, ((hw >>> 6) & 31) << 1);
    case 0b10010:
      return pack(Op.STR_SP, (hw >>> 8) & 7, 0, 0, (hw & 0xff) << 2);
    case 0b10011:
      return pack(Op.LDR_SP, (hw >>> 8) & 7, 0, 0, (hw & 0xff) << 2);
    case 0b10100:
      return pack(Op.ADR, (hw >>> 8) & 7, 0, 0, (hw & 0xff) << 2);
    case 0b10101:
      return pack(Op.ADD_SP_IMM8, (hw >>> 8) & 7, 0, 0, (hw & 0xff) << 2);
    case 0b10110:
    case 0b10111:
      return decodeMisc(hw);
    case 0b11000: {
      const list = hw & 0xff;
      // An empty list is UNPREDICTABLE (§A6.7.60).
      if (list === 0) return pack(Op.UNDEFINED, 0, 0, 0, 0);
      return pack(Op.STM, 0, (hw >>> 8) & 7, popcount(list), list);
    }
    case 0b11001: {
      const list = hw & 0xff;
      if (list === 0) return pack(Op.UNDEFINED, 0, 0, 0, 0);
      return pack(Op.LDM, 0, (hw >>> 8) & 7, popcount(list), list);
    }
    case 0b11010:
    case 0b11011: {
      const cond = (hw >>> 8) & 15;
      if (cond === 14) return pack(Op.UDF, 0, 0, 0, hw & 0xff);
      if (cond === 15) return pack(Op.SVC, 0, 0, 0, hw & 0xff);
      return pack(Op.BEQ + cond, 0, 0, 0, signExtend(hw & 0xff, 8) << 1);
    }
    case 0b11100:
      return pack(Op.B, 0, 0, 0, signExtend(hw & 0x7ff, 11) << 1);
    case 0b11110:
      // BL, MSR, MRS and the barriers all start with 0b11110 (§A5.3).
      return pack(Op.T32, 0, 0, 0, 0);
    default:
      // 0b11101 and 0b11111: 32-bit encodings with no ARMv6-M instruction.
      return pack(Op.UNDEFINED, 0, 0, 0, 0);
  }
}

/** Miscellaneous 16-bit instructions, §A5.2.5. */
function decodeMisc(hw: number): number {
  const lo3 = hw & 7;
  const mid3 = (hw >>> 3) & 7;
  const undefinedOp = pack(Op.UNDEFINED, 0, 0, 0, 0);
  switch ((hw >>> 8) & 15) {
    case 0b0000:
      return pack(hw & 0x80 ? Op.SUB_SP_IMM7 : Op.ADD_SP_IMM7, 0, 0, 0, (hw & 0x7f) << 2);
    case 0b0010: {
      const ops = [Op.SXTH, Op.SXTB, Op.UXTH, Op.UXTB] as const;
      return pack(ops[(hw >>> 6) & 3]!, lo3, mid3, 0, 0);
    }
    case 0b0100:
    case 0b0101: {
      const list = hw & 0x1ff;
      if (list === 0) return undefinedOp;
      return pack(Op.PUSH, 0, 0, popcount(list), list);
    }
    case 0b0110:
      // CPS: only the I bit exists on ARMv6-M (§B4.2.2 CPS).
      if (hw === 0xb662) return pack(Op.CPSIE, 0, 0, 0, 0);
      if (hw === 0xb672) return pack(Op.CPSID, 0, 0, 0, 0);
      return undefinedOp;
    case 0b1010:
      switch ((hw >>> 6) & 3) {
        case 0:
          return pack(Op.REV, lo3, mid3, 0, 0);
        case 1:
          return pack(Op.REV16, lo3, mid3, 0, 0);
        case 3:
          return pack(Op.REVSH, lo3, mid3, 0, 0);
        default:
          return undefinedOp;
      }
    case 0b1100:
    case 0b1101: {
      const list = hw & 0x1ff;
      if (list === 0) return undefinedOp;
      return pack(Op.POP, 0, 0, popcount(list), list);
    }
    case 0b1110:
      return pack(Op.BKPT, 0, 0, 0, hw & 0xff);
    case 0b1111: {
      // IT (mask != 0) does not exist on ARMv6-M.
      if ((hw & 15) !== 0) return undefinedOp;
      switch ((hw >>> 4) & 15) {
        case 1:
          return pack(Op.YIELD, 0, 0, 0, 0);
        case 2:
          return pack(Op.WFE, 0, 0, 0, 0);
        case 3:
          return pack(Op.WFI, 0, 0, 0, 0);
        case 4:
          return pack(Op.SEV, 0, 0, 0, 0);
        default:
          // NOP and the unallocated hints, which execute as NOP (§A5.2.5).
          return pack(Op.NOP, 0, 0, 0, 0);
      }
    }
    default:
      // CBZ/CBNZ and the rest of this space are ARMv7-M only.
      return undefinedOp;
  }
}

let table: Uint32Array | null = null;

/** The 65,536-entry decode table, built on first use. */
export function decodeTable(): Uint32Array {
  if (table === null) {
    const t = new Uint32Array(0x10000);
    for (let hw = 0; hw < 0x10000; hw++) t[hw] = decode(hw);
    table = t;
  }
  return table;
}
