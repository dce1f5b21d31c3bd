/**
 * A test board: the generic machine with a vector table whose every handler
 * is `BKPT <exception number>`, code at `CODE`, and helpers to run it.
 */
import type { Cpu, RunResult } from '../cpu.ts';
import { FLASH_BASE, Machine } from '../machine.ts';
import { assemble, bkpt, type Code } from './thumb.ts';

export const CODE = FLASH_BASE + 0x200;
export const STUBS = FLASH_BASE + 0x100;
export const HANDLERS = FLASH_BASE + 0x4000;
export const STACK_TOP = 0x20009000;
export const DATA = 0x20000000;
/** BKPT immediate that ends a test program. */
export const DONE = 0xfe;

export interface BootOptions {
  /** Code for exception n, placed at `handlerAddress(n)`. */
  readonly handlers?: Readonly<Record<number, readonly Code[]>>;
  /** Extra code or data: address → halfwords. */
  readonly extra?: ReadonlyArray<readonly [number, readonly Code[]]>;
  readonly frequencyHz?: number;
  readonly stackTop?: number;
}

export function handlerAddress(n: number): number {
  return HANDLERS + n * 0x100;
}

function put(m: Machine, address: number, halfwords: readonly number[]): void {
  const bytes = new Uint8Array(halfwords.length * 2);
  halfwords.forEach((h, i) => {
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = (h >>> 8) & 0xff;
  });
  m.bus.load(address, bytes);
}

function putWord(m: Machine, address: number, value: number): void {
  put(m, address, [value & 0xffff, value >>> 16]);
}

/** A machine with `code` at CODE, reset and ready to run. */
export function boot(code: readonly Code[], options: BootOptions = {}): Machine {
  const m = new Machine(options.frequencyHz !== undefined ? { frequencyHz: options.frequencyHz } : {});
  putWord(m, FLASH_BASE, options.stackTop ?? STACK_TOP);
  putWord(m, FLASH_BASE + 4, CODE | 1);
  for (let n = 2; n < 48; n++) {
    put(m, STUBS + 2 * n, [bkpt(n)]);
    const custom = options.handlers?.[n];
    if (custom) put(m, handlerAddress(n), assemble(...custom));
    putWord(m, FLASH_BASE + 4 * n, (custom ? handlerAddress(n) : STUBS + 2 * n) | 1);
  }
  put(m, CODE, assemble(...code));
  for (const [address, data] of options.extra ?? []) put(m, address, assemble(...data));
  m.reset();
  return m;
}

/** Run until a halt; fail loudly on anything but a breakpoint. */
export function runToBreak(cpu: Cpu, maxNs = 1e9): Extract<RunResult, { reason: 'breakpoint' }> {
  const res = cpu.run(maxNs);
  if (res.reason !== 'breakpoint') {
    throw new Error(`expected a breakpoint, got ${JSON.stringify(res)} (last fault: ${cpu.lastFault})`);
  }
  return res;
}

/**
 * Boot `code` followed by `BKPT DONE`, let `setup` preset registers and
 * flags, run to the BKPT, and return the core.
 */
export function exec(code: readonly Code[], setup?: (cpu: Cpu) => void, options?: BootOptions): Cpu {
  const m = boot([...code, bkpt(DONE)], options);
  setup?.(m.cpu);
  const res = runToBreak(m.cpu);
  if (res.imm !== DONE)
    throw new Error(`stopped at BKPT ${res.imm} (exception ${res.imm}?), last fault: ${m.cpu.lastFault}`);
  return m.cpu;
}

/** Registers as unsigned numbers. */
export function u(cpu: Cpu, n: number): number {
  return cpu.r[n]! >>> 0;
}

export function flags(cpu: Cpu): string {
  return `${cpu.n ? 'N' : '-'}${cpu.z ? 'Z' : '-'}${cpu.c ? 'C' : '-'}${cpu.v ? 'V' : '-'}`;
}
