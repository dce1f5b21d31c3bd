/**
 * The ARMv6-M register set as GDB sees it: the org.gnu.gdb.arm.m-profile
 * feature (r0-r12, sp, lr, pc, xpsr) and org.gnu.gdb.arm.m-system (msp,
 * psp) plus primask and control, which ARMv6-M has (no basepri or
 * faultmask). Register numbers are positions in this list.
 */

export const REGISTER_NAMES = [
  'r0',
  'r1',
  'r2',
  'r3',
  'r4',
  'r5',
  'r6',
  'r7',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'sp',
  'lr',
  'pc',
  'xpsr',
  'msp',
  'psp',
  'primask',
  'control',
] as const;

export const REG = { SP: 13, LR: 14, PC: 15, XPSR: 16, MSP: 17, PSP: 18, PRIMASK: 19, CONTROL: 20 } as const;

function reg(n: number, type: string, group: string): string {
  return `<reg name="${REGISTER_NAMES[n]}" bitsize="32" regnum="${n}" type="${type}" group="${group}"/>`;
}

/** The target description GDB fetches with qXfer:features:read:target.xml. */
export const TARGET_XML = [
  '<?xml version="1.0"?>',
  '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
  '<target version="1.0">',
  '<architecture>armv6s-m</architecture>',
  '<feature name="org.gnu.gdb.arm.m-profile">',
  ...Array.from({ length: 13 }, (_, n) => reg(n, 'uint32', 'general')),
  reg(REG.SP, 'data_ptr', 'general'),
  reg(REG.LR, 'uint32', 'general'),
  reg(REG.PC, 'code_ptr', 'general'),
  reg(REG.XPSR, 'uint32', 'general'),
  '</feature>',
  '<feature name="org.gnu.gdb.arm.m-system">',
  reg(REG.MSP, 'data_ptr', 'system'),
  reg(REG.PSP, 'data_ptr', 'system'),
  reg(REG.PRIMASK, 'uint32', 'system'),
  reg(REG.CONTROL, 'uint32', 'system'),
  '</feature>',
  '</target>',
].join('\n');
