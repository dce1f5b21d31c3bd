import { describe, expect, it } from 'vitest';
import type { AccessSize, MemoryMappedDevice } from './bus.ts';
import { boot, CODE, DATA, DONE, exec, runToBreak, STACK_TOP, u } from './test-support/board.ts';
import * as T from './test-support/thumb.ts';

const ICSR = 0xe000ed04;
const VTOR = 0xe000ed08;
const AIRCR = 0xe000ed0c;
const SCR = 0xe000ed10;
const SHPR2 = 0xe000ed1c;
const SHPR3 = 0xe000ed20;
const ISER = 0xe000e100;
const ISPR = 0xe000e200;
const IPR0 = 0xe000e400;
const SYST_CSR = 0xe000e010;
const SYST_RVR = 0xe000e014;
const SYST_CVR = 0xe000e018;
const PENDSVSET = 1 << 28;
const HARD_FAULT = 3;
const SVCALL = 11;

/** Load a 32-bit constant without a literal pool (clobbers flags). */
function imm32(rd: number, value: number): number[] {
  const v = value >>> 0;
  return [
    T.movsImm(rd, v >>> 24),
    T.lsls(rd, rd, 8),
    T.addsImm(rd, (v >>> 16) & 0xff),
    T.lsls(rd, rd, 8),
    T.addsImm(rd, (v >>> 8) & 0xff),
    T.lsls(rd, rd, 8),
    T.addsImm(rd, v & 0xff),
  ];
}

/** Store a constant to an address (uses r6, r7). */
function poke(address: number, value: number): number[] {
  return [...imm32(6, address), ...imm32(7, value), T.str(7, 6, 0)];
}

/** Append byte `tag` to a log in RAM at DATA (count at DATA, bytes from DATA+4); uses r4, r5. */
function log(tag: number): number[] {
  return [
    ...imm32(4, DATA),
    T.ldr(5, 4, 0),
    T.addsImm(5, 1),
    T.str(5, 4, 0),
    T.addsImm(4, 3),
    T.movsImm(3, tag),
    T.strbReg(3, 4, 5),
  ];
}

function readLog(cpu: { read32(a: number): number; read8(a: number): number }): number[] {
  const n = cpu.read32(DATA);
  return Array.from({ length: n }, (_, i) => cpu.read8(DATA + 4 + i));
}

describe('exception entry and return', () => {
  it('SVC stacks r0-r3, r12, LR, return address and xPSR, and returns', () => {
    const m = boot([T.svc(5), T.movsImm(0, 0x55), T.bkpt(DONE)], {
      handlers: {
        [SVCALL]: [T.mrs(6, T.SYSM.IPSR), T.mov(7, T.LR), T.mov(5, T.SP), T.bkpt(0x11), T.bx(T.LR)],
      },
    });
    const cpu = m.cpu;
    [10, 11, 12, 13].forEach((v, i) => {
      cpu.r[i] = v;
    });
    cpu.r[12] = 0x1212;
    cpu.r[14] = 0x0e0e;
    cpu.c = 1;
    expect(runToBreak(cpu).imm).toBe(0x11);
    expect(u(cpu, 6)).toBe(SVCALL);
    expect(u(cpu, 7)).toBe(0xfffffff9);
    const frame = u(cpu, 5);
    expect(frame).toBe(STACK_TOP - 32);
    const words = Array.from({ length: 8 }, (_, i) => cpu.read32(frame + 4 * i) >>> 0);
    expect(words).toEqual([10, 11, 12, 13, 0x1212, 0x0e0e, CODE + 2, 0x21000000]);
    expect(cpu.ipsr).toBe(SVCALL);
    cpu.resume();
    expect(runToBreak(cpu).imm).toBe(DONE);
    expect(u(cpu, 0)).toBe(0x55);
    expect(u(cpu, 1)).toBe(11);
    expect(cpu.c).toBe(1);
    expect(cpu.ipsr).toBe(0);
    expect(cpu.sp).toBe(STACK_TOP);
  });

  it('aligns the frame to 8 bytes and records it in bit 9 of the stacked xPSR', () => {
    const m = boot([T.subSp(4), T.svc(0), T.mov(0, T.SP), T.bkpt(DONE)], {
      handlers: { [SVCALL]: [T.mov(5, T.SP), T.bx(T.LR)] },
    });
    runToBreak(m.cpu);
    const frame = u(m.cpu, 5);
    expect(frame).toBe(STACK_TOP - 4 - 4 - 32);
    expect((m.cpu.read32(frame + 28) >>> 9) & 1).toBe(1);
    expect(u(m.cpu, 0)).toBe(STACK_TOP - 4);
  });

  it('PendSV is taken right after the store that pends it', () => {
    // The handler writes r4/r5 (exception return restores r0-r3).
    const cpu = exec([...poke(ICSR, PENDSVSET), T.movsImm(5, 2)], undefined, {
      handlers: { 14: [T.movsImm(4, 1), T.movsImm(5, 1), T.bx(T.LR)] },
    });
    expect([u(cpu, 4), u(cpu, 5)]).toEqual([1, 2]);
  });

  it('uses PSP in thread mode with CONTROL.SPSEL and returns with 0xFFFFFFFD', () => {
    const psp = 0x20008000;
    const cpu = exec(
      [
        ...imm32(0, psp),
        T.msr(T.SYSM.PSP, 0),
        T.movsImm(0, 2),
        T.msr(T.SYSM.CONTROL, 0),
        T.isb(),
        T.svc(0),
        T.mov(2, T.SP),
      ],
      undefined,
      { handlers: { [SVCALL]: [T.mov(4, T.LR), T.mov(5, T.SP), T.mrs(6, T.SYSM.PSP), T.bx(T.LR)] } },
    );
    expect(u(cpu, 4)).toBe(0xfffffffd);
    expect(u(cpu, 5)).toBe(STACK_TOP); // the handler runs on MSP, nothing stacked there
    expect(u(cpu, 6)).toBe(psp - 32);
    expect(u(cpu, 2)).toBe(psp);
    expect(cpu.control).toBe(2);
  });

  it('an exception pended at equal priority waits for the handler, then tail-chains', () => {
    const cpu = exec([T.svc(0)], undefined, {
      handlers: {
        [SVCALL]: [T.push([T.LR]), ...poke(ICSR, PENDSVSET), ...log(11), T.pop([T.PC])],
        14: [T.mov(4, T.LR), T.mrs(5, T.SYSM.IPSR), T.mov(8, 4), ...log(14), T.bx(8)],
      },
    });
    expect(readLog(cpu)).toEqual([11, 14]);
    expect(u(cpu, 8)).toBe(0xfffffff9); // taken from thread mode after SVCall returned
  });

  it('a higher priority exception preempts a handler (EXC_RETURN 0xFFFFFFF1)', () => {
    const cpu = exec([...poke(SHPR3, 0xc0 << 16), ...poke(ICSR, PENDSVSET), ...log(0xee)], undefined, {
      handlers: {
        14: [T.push([T.LR]), ...log(14), T.svc(1), ...log(0x14), T.pop([T.PC])],
        [SVCALL]: [T.mov(8, T.LR), T.push([T.LR]), ...log(11), T.pop([T.PC])],
      },
    });
    expect(readLog(cpu)).toEqual([14, 11, 0x14, 0xee]);
    expect(u(cpu, 8)).toBe(0xfffffff1);
  });

  it('preemption by priority, and lower exception numbers first among equals', () => {
    const code = [
      ...poke(IPR0, 0x00_40_40_80), // IRQ0 0x80, IRQ1 0x40, IRQ2 0x40, IRQ3 0x00
      ...poke(ISER, 0xf),
      ...poke(ISPR, 1), // IRQ0 runs; it pends IRQ1 (preempts) ...
      ...log(0xee),
    ];
    const cpu = exec(code, undefined, {
      handlers: {
        16: [T.push([T.LR]), ...log(0), ...poke(ISPR, 0b110), ...log(0x10), T.pop([T.PC])],
        17: [T.mov(8, T.LR), T.push([T.LR]), ...log(1), T.pop([T.PC])],
        18: [T.push([T.LR]), ...log(2), T.pop([T.PC])],
        19: [T.push([T.LR]), ...log(3), T.pop([T.PC])],
      },
    });
    // IRQ1 and IRQ2 share priority 0x40 and both preempt IRQ0: IRQ1 first, then IRQ2 tail-chains.
    expect(readLog(cpu)).toEqual([0, 1, 2, 0x10, 0xee]);
    expect(u(cpu, 8)).toBe(0xfffffff1);
  });

  it('PRIMASK holds interrupts off until CPSIE', () => {
    const cpu = exec(
      [
        T.cpsid(),
        ...poke(ISER, 1),
        ...poke(ISPR, 1),
        ...log(1),
        T.cpsie(),
        ...log(2),
        T.mrs(0, T.SYSM.PRIMASK),
      ],
      undefined,
      { handlers: { 16: [T.push([T.LR]), ...log(0x10), T.pop([T.PC])] } },
    );
    expect(readLog(cpu)).toEqual([1, 0x10, 2]);
    expect(u(cpu, 0)).toBe(0);
  });

  it('MSR PRIMASK masks and unmasks too', () => {
    const cpu = exec(
      [
        T.movsImm(0, 1),
        T.msr(T.SYSM.PRIMASK, 0),
        ...poke(ISER, 1),
        ...poke(ISPR, 1),
        ...log(1),
        T.movsImm(0, 0),
        T.msr(T.SYSM.PRIMASK, 0),
        ...log(2),
      ],
      undefined,
      { handlers: { 16: [T.push([T.LR]), ...log(0x10), T.pop([T.PC])] } },
    );
    expect(readLog(cpu)).toEqual([1, 0x10, 2]);
  });

  it('a disabled interrupt stays pending and is not taken', () => {
    const cpu = exec([
      ...poke(ISPR, 1),
      ...imm32(0, ISPR),
      T.ldr(1, 0, 0),
      ...imm32(0, ICSR),
      T.ldr(2, 0, 0),
    ]);
    expect(u(cpu, 1)).toBe(1);
    expect((u(cpu, 2) >>> 22) & 1).toBe(1); // ISRPENDING
  });

  it('ICSR shows VECTACTIVE in a handler', () => {
    const cpu = exec([T.svc(0)], undefined, {
      handlers: { [SVCALL]: [...imm32(4, ICSR), T.ldr(5, 4, 0), T.bx(T.LR)] },
    });
    expect(u(cpu, 5) & 0x1ff).toBe(SVCALL);
  });

  it('SVC in the SVCall handler escalates to HardFault', () => {
    const m = boot([T.svc(0)], { handlers: { [SVCALL]: [T.svc(1)] } });
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
  });

  it('a fault in the HardFault handler locks up', () => {
    const m = boot([T.udf(0)], { handlers: { [HARD_FAULT]: [T.udf(1)] } });
    const res = m.cpu.run(1e6);
    expect(res.reason).toBe('lockup');
    expect(res.reason === 'lockup' && res.fault).toMatch(/undefined instruction/);
  });

  it('an invalid EXC_RETURN raises HardFault', () => {
    const m = boot([T.svc(0)], { handlers: { [SVCALL]: [...imm32(0, 0xfffffff5), T.bx(0)] } });
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
    expect(m.cpu.lastFault).toMatch(/EXC_RETURN/);
  });

  it('VTOR relocates the vector table', () => {
    // A table in RAM whose SVCall entry points at the stub for exception 40.
    const table = DATA + 0x400;
    const stub40 = 0x08000100 + 80;
    const m = boot([...poke(table + 4 * SVCALL, stub40 | 1), ...poke(VTOR, table), T.svc(0)]);
    expect(runToBreak(m.cpu).imm).toBe(40);
  });
});

describe('MRS and MSR', () => {
  it('APSR round trip, EPSR reads as zero', () => {
    const cpu = exec([
      ...imm32(0, 0xa0000000),
      T.msr(T.SYSM.APSR, 0),
      T.mrs(1, T.SYSM.APSR),
      T.mrs(2, T.SYSM.XPSR),
    ]);
    expect(u(cpu, 1)).toBe(0xa0000000);
    expect(u(cpu, 2)).toBe(0xa0000000);
    expect([cpu.n, cpu.z, cpu.c, cpu.v]).toEqual([1, 0, 1, 0]);
  });

  it('MSP and PSP', () => {
    const cpu = exec([
      ...imm32(0, 0x20001003),
      T.msr(T.SYSM.PSP, 0),
      T.mrs(1, T.SYSM.PSP),
      T.mrs(2, T.SYSM.MSP),
    ]);
    expect(u(cpu, 1)).toBe(0x20001000);
    expect(u(cpu, 2)).toBe(STACK_TOP);
  });

  it('barriers execute', () => {
    const cpu = exec([T.dsb(), T.dmb(), T.isb(), T.movsImm(0, 1)]);
    expect(u(cpu, 0)).toBe(1);
  });
});

describe('SCS registers', () => {
  function peek(address: number): number {
    const cpu = exec([...imm32(0, address), T.ldr(1, 0, 0)]);
    return u(cpu, 1);
  }

  it('CPUID is a Cortex-M0+', () => {
    expect(peek(0xe000ed00).toString(16)).toBe('410cc601');
  });

  it('CCR reports STKALIGN and UNALIGN_TRP', () => {
    expect(peek(0xe000ed14)).toBe(0x208);
  });

  it('priority registers keep only bits 7:6', () => {
    const cpu = exec([
      ...poke(IPR0 + 4, 0xffffffff),
      ...poke(SHPR2, 0xffffffff),
      ...poke(SHPR3, 0xffffffff),
      ...imm32(0, IPR0 + 4),
      T.ldr(1, 0, 0),
      ...imm32(0, SHPR2),
      T.ldr(2, 0, 0),
      ...imm32(0, SHPR3),
      T.ldr(3, 0, 0),
    ]);
    expect(u(cpu, 1)).toBe(0xc0c0c0c0);
    expect(u(cpu, 2)).toBe(0xc0000000);
    expect(u(cpu, 3)).toBe(0xc0c00000);
  });

  it('byte access to the SCS faults (word-only on ARMv6-M)', () => {
    const m = boot([...imm32(0, IPR0), T.ldrb(1, 0, 0)]);
    expect(runToBreak(m.cpu).imm).toBe(HARD_FAULT);
  });

  it('AIRCR.SYSRESETREQ calls the reset hook', () => {
    const m = boot([...poke(AIRCR, 0x05fa0004), T.bkpt(DONE)]);
    let resets = 0;
    m.cpu.onResetRequest = () => {
      resets++;
      m.cpu.reset();
      m.cpu.pc = CODE + 0x400; // somewhere that halts
    };
    m.bus.load(CODE + 0x400, new Uint8Array([0x42, 0xbe])); // bkpt 0x42
    expect(runToBreak(m.cpu).imm).toBe(0x42);
    expect(resets).toBe(1);
  });

  it('AIRCR without the key is ignored; without a hook the core resets itself', () => {
    const m = boot([...poke(AIRCR, 0x00000004), T.movsImm(1, 1), ...poke(AIRCR, 0x05fa0004), T.bkpt(DONE)]);
    // After the keyed write the core restarts from the reset vector: the first poke runs again, forever.
    const res = m.cpu.run(10_000);
    expect(res.reason).toBe('time');
    expect(m.cpu.pc).toBeGreaterThanOrEqual(CODE);
  });
});

describe('SysTick', () => {
  it('fires at the right virtual time and counts down from the core clock', () => {
    const m = boot(
      [
        ...poke(SYST_RVR, 1599),
        ...poke(SYST_CVR, 0),
        ...poke(SYST_CSR, 7),
        T.mrs(0, T.SYSM.MSP),
        T.wfi(),
        T.b(-6),
      ],
      { frequencyHz: 16_000_000 },
    );
    const res = runToBreak(m.cpu);
    expect(res.imm).toBe(15);
    // Enabled after ~70 cycles; 1600 cycles of 62.5 ns = 100 us, plus the entry.
    expect(m.cpu.nowNs).toBeGreaterThan(100_000);
    expect(m.cpu.nowNs).toBeLessThan(106_000);
    const csr = m.cpu.read32(SYST_CSR);
    expect(csr & 0x10000).toBe(0x10000); // COUNTFLAG
    expect(m.cpu.read32(SYST_CSR) & 0x10000).toBe(0); // cleared by the read
  });

  it('periodic ticks while sleeping, at the configured period', () => {
    const times: number[] = [];
    const m = boot([...poke(SYST_RVR, 15_999), ...poke(SYST_CSR, 7), T.wfi(), T.b(-6)], {
      frequencyHz: 16_000_000,
      handlers: { 15: [T.bkpt(0x15), T.bx(T.LR)] },
    });
    for (let i = 0; i < 5; i++) {
      expect(runToBreak(m.cpu).imm).toBe(0x15);
      times.push(m.cpu.nowNs);
      m.cpu.resume();
    }
    const deltas = times.slice(1).map((t, i) => t - times[i]!);
    for (const d of deltas) expect(d).toBeCloseTo(1_000_000, -2);
    expect(m.cpu.cycles).toBeLessThan(100_000); // time jumped; it did not spin
  });

  it('free-running without TICKINT lets a sleeping core go idle, and COUNTFLAG still shows the wraps', () => {
    const m = boot([...poke(SYST_RVR, 999), ...poke(SYST_CSR, 5), T.wfi(), T.bkpt(DONE)], {
      frequencyHz: 16_000_000,
    });
    expect(m.cpu.run(1e9)).toEqual({ reason: 'idle' });
    // Something else needs the core's time 10 ms later (160 wraps): the sleeping core jumps there.
    const due = m.cpu.nowNs + 10_000_000;
    m.clock.schedule(10_000_000, () => {});
    expect(m.cpu.run(1e9)).toEqual({ reason: 'idle' });
    expect(m.cpu.nowNs).toBeGreaterThanOrEqual(due);
    expect(m.cpu.read32(SYST_CSR) & 0x10000).toBe(0x10000);
    expect(m.cpu.read32(SYST_CSR) & 0x10000).toBe(0);
  });

  it('CVR counts down', () => {
    const cpu = exec([
      ...poke(SYST_RVR, 1000),
      ...poke(SYST_CSR, 5),
      ...imm32(0, SYST_CVR),
      T.ldr(1, 0, 0),
      T.nop(),
      T.nop(),
      T.ldr(2, 0, 0),
    ]);
    expect(u(cpu, 1)).toBeLessThanOrEqual(1000);
    expect(u(cpu, 1) - u(cpu, 2)).toBe(4);
  });
});

/** A device whose register drives an interrupt line, so a handler can clear its source. */
class LineDevice implements MemoryMappedDevice {
  readonly name = 'line';
  level = 0;
  constructor(private readonly set: (v: boolean) => void) {}
  read(_offset: number, _size: AccessSize): number {
    return this.level;
  }
  write(_offset: number, value: number, _size: AccessSize): void {
    this.level = value & 1;
    this.set(this.level === 1);
  }
}

describe('interrupt lines and sleep', () => {
  it('WFI sleeps until a line goes high; the run reports idle meanwhile', () => {
    const m = boot([...poke(ISER, 1), T.wfi(), T.movsImm(0, 1), T.bkpt(DONE)]);
    expect(m.cpu.run(1e9)).toEqual({ reason: 'idle' });
    expect(m.cpu.isSleeping).toBe(true);
    m.cpu.nvic.line(0).set(true);
    expect(runToBreak(m.cpu).imm).toBe(16);
  });

  it('WFI with PRIMASK set wakes without taking the interrupt', () => {
    const m = boot([T.cpsid(), ...poke(ISER, 1), T.wfi(), T.movsImm(0, 1), T.bkpt(DONE)]);
    expect(m.cpu.run(1e9).reason).toBe('idle');
    m.cpu.nvic.line(0).set(true);
    expect(runToBreak(m.cpu).imm).toBe(DONE);
    expect(u(m.cpu, 0)).toBe(1);
  });

  it('a clock event wakes WFI at its due time, without spinning', () => {
    const m = boot([...poke(ISER, 1), T.wfi(), T.bkpt(DONE)]);
    m.clock.schedule(2_000_000, () => m.cpu.nvic.line(0).set(true));
    expect(runToBreak(m.cpu, 10e6).imm).toBe(16);
    expect(m.cpu.nowNs).toBeGreaterThanOrEqual(2_000_000);
    expect(m.cpu.nowNs).toBeLessThan(2_002_000);
  });

  it('run stops at maxNs while asleep with a later event', () => {
    const m = boot([...poke(ISER, 1), T.wfi(), T.bkpt(DONE)]);
    m.clock.schedule(5_000_000, () => {});
    expect(m.cpu.run(1_000_000).reason).toBe('time');
    expect(m.clock.nowNs).toBeCloseTo(1_000_000, -2);
  });

  it('a level-sensitive line pends again after return while still high', () => {
    const clear = poke(0x40000000, 0);
    const m = boot([...poke(ISER, 1), ...log(0xaa), T.bkpt(DONE)], {
      handlers: {
        // Log each entry; clear the source only on the third.
        16: [
          T.push([T.LR]),
          ...log(0x10),
          ...imm32(4, DATA),
          T.ldr(5, 4, 0),
          T.cmpImm(5, 3),
          T.bCond('ne', 2 * clear.length - 2),
          ...clear,
          T.pop([T.PC]),
        ],
      },
    });
    const line = m.cpu.nvic.line(0);
    m.bus.mapDevice(0x40000000, 0x400, new LineDevice((v) => line.set(v)));
    line.set(true);
    expect(runToBreak(m.cpu).imm).toBe(DONE);
    expect(readLog(m.cpu)).toEqual([0x10, 0x10, 0x10, 0xaa]);
  });

  it('SEV sets the event register, so the next WFE does not sleep', () => {
    const m = boot([T.sev(), T.wfe(), T.movsImm(0, 1), T.wfe(), T.bkpt(DONE)]);
    // Reset leaves the register clear; the first WFE consumes SEV's event, the second sleeps.
    expect(m.cpu.run(1e9).reason).toBe('idle');
    expect(u(m.cpu, 0)).toBe(1);
  });

  it('SEVONPEND: a pending disabled interrupt wakes WFE', () => {
    const m = boot([...poke(SCR, 0x10), T.sev(), T.wfe(), T.wfe(), T.movsImm(0, 7), T.bkpt(DONE)]);
    expect(m.cpu.run(1e9).reason).toBe('idle');
    m.cpu.nvic.line(3).set(true);
    expect(runToBreak(m.cpu).imm).toBe(DONE);
    expect(u(m.cpu, 0)).toBe(7);
  });

  it('SLEEPONEXIT goes back to sleep when the handler returns to thread mode', () => {
    const m = boot([...poke(SCR, 2), ...poke(ISER, 1), T.wfi(), T.bkpt(DONE)], {
      handlers: { 16: [T.push([T.LR]), ...log(1), ...poke(0x40000000, 0), T.pop([T.PC])] },
    });
    const line = m.cpu.nvic.line(0);
    m.bus.mapDevice(0x40000000, 0x400, new LineDevice((v) => line.set(v)));
    expect(m.cpu.run(1e9).reason).toBe('idle');
    line.set(true);
    expect(m.cpu.run(1e9).reason).toBe('idle');
    expect(readLog(m.cpu)).toEqual([1]);
    expect(m.cpu.isSleeping).toBe(true);
  });
});

describe('clock frequency', () => {
  it('nanoseconds per cycle follow frequencyHz, changed at run time', () => {
    const m = boot([T.nop(), T.nop(), T.nop(), T.nop(), T.bkpt(DONE)], { frequencyHz: 16_000_000 });
    m.cpu.step();
    m.cpu.step();
    expect(m.cpu.nowNs).toBe(125);
    m.cpu.frequencyHz = 64_000_000;
    m.cpu.step();
    m.cpu.step();
    expect(m.cpu.nowNs).toBe(125 + 31.25);
  });
});
