/**
 * A tiny Thumb (ARMv6-M) assembler for tests: one function per instruction,
 * returning its halfword(s), so a test reads like the code it runs.
 * Branch offsets are in bytes relative to the branch's address + 4.
 */

export type Code = number | readonly number[];

export const SP = 13;
export const LR = 14;
export const PC = 15;

function lo(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 7) throw new RangeError(`r${r} is not a low register`);
  return r;
}

function uimm(value: number, bits: number, scale = 1): number {
  if (value % scale !== 0 || value < 0 || value / scale >= 1 << bits) {
    throw new RangeError(`immediate ${value} does not fit ${bits} bits scaled by ${scale}`);
  }
  return value / scale;
}

function regList(regs: readonly number[], extra: number): number {
  let list = 0;
  for (const r of regs) {
    if (r === extra) list |= 0x100;
    else list |= 1 << lo(r);
  }
  return list;
}

const shiftImm = (op: number) => (rd: number, rm: number, imm: number) =>
  (op << 11) | (uimm(imm === 32 && op !== 0 ? 0 : imm, 5) << 6) | (lo(rm) << 3) | lo(rd);

export const lsls = shiftImm(0);
/** `imm` 1..32 (32 encodes as 0). */
export const lsrs = shiftImm(1);
export const asrs = shiftImm(2);
export const movs = (rd: number, rm: number): number => lsls(rd, rm, 0);

export const adds = (rd: number, rn: number, rm: number): number =>
  0x1800 | (lo(rm) << 6) | (lo(rn) << 3) | lo(rd);
export const subs = (rd: number, rn: number, rm: number): number =>
  0x1a00 | (lo(rm) << 6) | (lo(rn) << 3) | lo(rd);
export const addsImm3 = (rd: number, rn: number, imm: number): number =>
  0x1c00 | (uimm(imm, 3) << 6) | (lo(rn) << 3) | lo(rd);
export const subsImm3 = (rd: number, rn: number, imm: number): number =>
  0x1e00 | (uimm(imm, 3) << 6) | (lo(rn) << 3) | lo(rd);

export const movsImm = (rd: number, imm: number): number => 0x2000 | (lo(rd) << 8) | uimm(imm, 8);
export const cmpImm = (rn: number, imm: number): number => 0x2800 | (lo(rn) << 8) | uimm(imm, 8);
export const addsImm = (rdn: number, imm: number): number => 0x3000 | (lo(rdn) << 8) | uimm(imm, 8);
export const subsImm = (rdn: number, imm: number): number => 0x3800 | (lo(rdn) << 8) | uimm(imm, 8);

const dp = (op: number) => (rdn: number, rm: number) => 0x4000 | (op << 6) | (lo(rm) << 3) | lo(rdn);
export const ands = dp(0);
export const eors = dp(1);
export const lslsReg = dp(2);
export const lsrsReg = dp(3);
export const asrsReg = dp(4);
export const adcs = dp(5);
export const sbcs = dp(6);
export const rors = dp(7);
export const tst = dp(8);
/** RSBS Rd, Rn, #0 (NEGS). */
export const rsbs = dp(9);
export const cmp = dp(10);
export const cmn = dp(11);
export const orrs = dp(12);
/** MULS Rdm, Rn, Rdm: `muls(rdm, rn)`. */
export const muls = dp(13);
export const bics = dp(14);
export const mvns = dp(15);

const hi = (op: number) => (rdn: number, rm: number) =>
  0x4400 | (op << 8) | ((rdn & 8) << 4) | ((rm & 15) << 3) | (rdn & 7);
/** ADD Rdn, Rm (any registers, no flags). */
export const addHi = hi(0);
export const cmpHi = hi(1);
/** MOV Rd, Rm (any registers, no flags). */
export const mov = hi(2);
export const bx = (rm: number): number => 0x4700 | ((rm & 15) << 3);
export const blx = (rm: number): number => 0x4780 | ((rm & 15) << 3);

/** LDR Rt, [PC, #imm]: address is Align(pc + 4, 4) + imm. */
export const ldrLit = (rt: number, imm: number): number => 0x4800 | (lo(rt) << 8) | uimm(imm, 8, 4);

const lsReg = (op: number) => (rt: number, rn: number, rm: number) =>
  0x5000 | (op << 9) | (lo(rm) << 6) | (lo(rn) << 3) | lo(rt);
export const strReg = lsReg(0);
export const strhReg = lsReg(1);
export const strbReg = lsReg(2);
export const ldrsbReg = lsReg(3);
export const ldrReg = lsReg(4);
export const ldrhReg = lsReg(5);
export const ldrbReg = lsReg(6);
export const ldrshReg = lsReg(7);

const lsImm = (base: number, scale: number) => (rt: number, rn: number, imm: number) =>
  base | (uimm(imm, 5, scale) << 6) | (lo(rn) << 3) | lo(rt);
export const str = lsImm(0x6000, 4);
export const ldr = lsImm(0x6800, 4);
export const strb = lsImm(0x7000, 1);
export const ldrb = lsImm(0x7800, 1);
export const strh = lsImm(0x8000, 2);
export const ldrh = lsImm(0x8800, 2);

export const strSp = (rt: number, imm: number): number => 0x9000 | (lo(rt) << 8) | uimm(imm, 8, 4);
export const ldrSp = (rt: number, imm: number): number => 0x9800 | (lo(rt) << 8) | uimm(imm, 8, 4);
export const adr = (rd: number, imm: number): number => 0xa000 | (lo(rd) << 8) | uimm(imm, 8, 4);
/** ADD Rd, SP, #imm */
export const addRdSp = (rd: number, imm: number): number => 0xa800 | (lo(rd) << 8) | uimm(imm, 8, 4);
/** ADD SP, SP, #imm */
export const addSp = (imm: number): number => 0xb000 | uimm(imm, 7, 4);
/** SUB SP, SP, #imm */
export const subSp = (imm: number): number => 0xb080 | uimm(imm, 7, 4);

export const sxth = (rd: number, rm: number): number => 0xb200 | (lo(rm) << 3) | lo(rd);
export const sxtb = (rd: number, rm: number): number => 0xb240 | (lo(rm) << 3) | lo(rd);
export const uxth = (rd: number, rm: number): number => 0xb280 | (lo(rm) << 3) | lo(rd);
export const uxtb = (rd: number, rm: number): number => 0xb2c0 | (lo(rm) << 3) | lo(rd);

/** PUSH {regs}; LR allowed. */
export const push = (regs: readonly number[]): number => 0xb400 | regList(regs, LR);
/** POP {regs}; PC allowed. */
export const pop = (regs: readonly number[]): number => 0xbc00 | regList(regs, PC);
export const cpsie = (): number => 0xb662;
export const cpsid = (): number => 0xb672;

export const rev = (rd: number, rm: number): number => 0xba00 | (lo(rm) << 3) | lo(rd);
export const rev16 = (rd: number, rm: number): number => 0xba40 | (lo(rm) << 3) | lo(rd);
export const revsh = (rd: number, rm: number): number => 0xbac0 | (lo(rm) << 3) | lo(rd);

export const bkpt = (imm = 0): number => 0xbe00 | uimm(imm, 8);
export const nop = (): number => 0xbf00;
export const yieldHint = (): number => 0xbf10;
export const wfe = (): number => 0xbf20;
export const wfi = (): number => 0xbf30;
export const sev = (): number => 0xbf40;

/** STM Rn!, {regs} */
export const stm = (rn: number, regs: readonly number[]): number =>
  0xc000 | (lo(rn) << 8) | regList(regs, -1);
/** LDM Rn{!}, {regs} (writeback when Rn is not in the list) */
export const ldm = (rn: number, regs: readonly number[]): number =>
  0xc800 | (lo(rn) << 8) | regList(regs, -1);

export const CONDITIONS = [
  'eq',
  'ne',
  'cs',
  'cc',
  'mi',
  'pl',
  'vs',
  'vc',
  'hi',
  'ls',
  'ge',
  'lt',
  'gt',
  'le',
] as const;
export type Condition = (typeof CONDITIONS)[number];

function branchOffset(offset: number, bits: number): number {
  if (offset % 2 !== 0 || offset < -(1 << bits) || offset >= 1 << bits) {
    throw new RangeError(`branch offset ${offset} out of range`);
  }
  return (offset >> 1) & ((1 << bits) - 1);
}

/** B<cond> with `offset` from the branch's address + 4. */
export const bCond = (cond: Condition, offset: number): number =>
  0xd000 | (CONDITIONS.indexOf(cond) << 8) | branchOffset(offset, 8);
export const udf = (imm = 0): number => 0xde00 | uimm(imm, 8);
export const svc = (imm = 0): number => 0xdf00 | uimm(imm, 8);
export const b = (offset: number): number => 0xe000 | branchOffset(offset, 11);

/** BL with `offset` from the BL's address + 4. */
export function bl(offset: number): readonly number[] {
  if (offset % 2 !== 0 || offset < -(1 << 24) || offset >= 1 << 24)
    throw new RangeError(`BL offset ${offset}`);
  const v = offset >> 1;
  const s = (v >>> 23) & 1;
  const i1 = (v >>> 22) & 1;
  const i2 = (v >>> 21) & 1;
  const j1 = (~i1 & 1) ^ s;
  const j2 = (~i2 & 1) ^ s;
  return [0xf000 | (s << 10) | ((v >>> 11) & 0x3ff), 0xd000 | (j1 << 13) | (j2 << 11) | (v & 0x7ff)];
}

/** Special registers for MSR/MRS. */
export const SYSM = {
  APSR: 0,
  IAPSR: 1,
  EAPSR: 2,
  XPSR: 3,
  IPSR: 5,
  EPSR: 6,
  IEPSR: 7,
  MSP: 8,
  PSP: 9,
  PRIMASK: 16,
  CONTROL: 20,
} as const;

export const msr = (sysm: number, rn: number): readonly number[] => [
  0xf380 | (rn & 15),
  0x8800 | (sysm & 0xff),
];
export const mrs = (rd: number, sysm: number): readonly number[] => [
  0xf3ef,
  0x8000 | ((rd & 15) << 8) | (sysm & 0xff),
];
export const dsb = (): readonly number[] => [0xf3bf, 0x8f4f];
export const dmb = (): readonly number[] => [0xf3bf, 0x8f5f];
export const isb = (): readonly number[] => [0xf3bf, 0x8f6f];

/** Flatten instructions into halfwords. */
export function assemble(...code: readonly Code[]): number[] {
  const out: number[] = [];
  for (const c of code) {
    if (typeof c === 'number') out.push(c);
    else out.push(...c);
  }
  return out;
}

/** A 32-bit literal as two halfwords (little-endian), for literal pools. */
export const word = (value: number): readonly number[] => [value & 0xffff, (value >>> 16) & 0xffff];
