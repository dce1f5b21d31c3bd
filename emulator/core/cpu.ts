/**
 * A Cortex-M0+ (ARMv6-M) core: Thumb interpreter, exception model, and the
 * System Control Space (NVIC, SCB, SysTick), which are architecture rather
 * than chip. The core sees memory only through a `CpuBus`; plain memory is
 * read through typed arrays, everything else through `read`/`write`.
 *
 * Section numbers refer to the ARMv6-M Architecture Reference Manual (DDI 0419).
 */
import { type AccessSize, type Bus, BusError } from './bus.ts';
import { decodeTable } from './decoder.ts';
import { Exc, ExceptionController } from './exceptions.ts';
import { SCS_BASE, SCS_SIZE, SystemControlSpace } from './scs.ts';
import type { Semihosting, SemihostingMemory } from './semihosting.ts';
import type { MemoryRegion } from './system-bus.ts';
import { SysTick, type SysTickOptions } from './systick.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** The bus as the core needs it: `memoryAt` lets it index RAM and flash directly. */
export interface CpuBus extends Bus {
  memoryAt(address: number): MemoryRegion | undefined;
}

export interface CpuOptions {
  readonly bus: CpuBus;
  readonly clock: VirtualClock;
  /** Core clock; settable later through `frequencyHz`. Default 16 MHz. */
  readonly frequencyHz?: number;
  /** Handles `BKPT 0xAB`; without it that BKPT halts like any other. */
  readonly semihosting?: Semihosting | null;
  readonly sysTick?: SysTickOptions;
}

/**
 * How long instruction fetches from a memory behind wait states take (a
 * flash interface's): each access reads one line; a line that misses the
 * interface's buffers costs `waitStates` extra cycles. With `prefetch` the
 * next line is read while the current one executes, so straight-line code
 * stalls only when it runs through a line faster than a read; lines kept in
 * the cache cost nothing when a branch comes back to them. Data reads from
 * the memory pay the wait states too.
 */
export interface FetchTiming {
  readonly base: number;
  readonly size: number;
  readonly waitStates: number;
  /** Bytes one access reads; a power of two. */
  readonly lineBytes: number;
  readonly prefetch: boolean;
  /** Lines the cache keeps (oldest replaced first); 0: no cache. */
  readonly cacheLines: number;
}

/** Why `run` or `step` returned. */
export type RunResult =
  /** `maxNs` of virtual time went by. */
  | { readonly reason: 'time' }
  /** One instruction boundary was crossed (`step` only). */
  | { readonly reason: 'step' }
  /** Asleep (WFI/WFE) with no clock event or SysTick wrap that could wake it. */
  | { readonly reason: 'idle' }
  /** The program exited through semihosting. */
  | { readonly reason: 'exit'; readonly code: number }
  /** BKPT: `pc` is the BKPT's address, `imm` its immediate. */
  | { readonly reason: 'breakpoint'; readonly pc: number; readonly imm: number }
  /** A fault while in HardFault or NMI (§B1.5.15), or a broken reset vector. */
  | { readonly reason: 'lockup'; readonly pc: number; readonly fault: string }
  /** The attached observer (a debugger) stopped the core before the instruction at `pc`. */
  | { readonly reason: 'observer' };

/**
 * Watches the core for a debugger (emulator/debug). While one is attached
 * the core runs one instruction at a time and every data access it makes
 * takes the slow path, so both are seen; with none, nothing is checked.
 */
export interface CpuObserver {
  /** Asked before each instruction: true stops the run there (a breakpoint, a watchpoint hit). */
  shouldStop(pc: number): boolean;
  /** A data access by the core (not an instruction fetch), before it is made. */
  access(address: number, size: AccessSize, isWrite: boolean): void;
}

/** A synchronous fault inside an instruction; becomes a HardFault. */
export class CpuFault extends Error {
  constructor(
    message: string,
    /** Return address to stack instead of the faulting instruction's, if set. */
    readonly returnAddress?: number,
  ) {
    super(message);
    this.name = 'CpuFault';
  }
}

const STEP: RunResult = { reason: 'step' };
const TIME: RunResult = { reason: 'time' };
const IDLE: RunResult = { reason: 'idle' };
const OBSERVED: RunResult = { reason: 'observer' };
const SLEEP_NONE = 0;
const SLEEP_WFI = 1;
const SLEEP_WFE = 2;
/** Start of the Execute Never system region (§B3.1). */
const SYSTEM_REGION = 0xe0000000;
/** Entry and return latency of the Cortex-M0+ (TRM §3.3), roughly. */
const EXCEPTION_ENTRY_CYCLES = 15;
const EXCEPTION_RETURN_CYCLES = 10;
/** Most cycles one call of `execute` runs (see `service`). */
const MAX_BATCH_CYCLES = 1 << 16;

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

const EMPTY16 = new Uint16Array(0);
const EMPTY32 = new Int32Array(0);
const EMPTY8 = new Uint8Array(0);

export class Cpu {
  /** r0-r12, SP (the one in use), LR; index 15 is unused, see `pc`. */
  readonly r = new Int32Array(16);
  /** Address of the next instruction to execute. */
  pc = 0;
  /** APSR flags, each 0 or 1. */
  n = 0;
  z = 0;
  c = 0;
  v = 0;
  /** Exception number in IPSR; 0 in thread mode. */
  ipsr = 0;
  primask = 0;
  /** CONTROL.SPSEL (thread mode uses PSP) and CONTROL.nPRIV. */
  spsel = 0;
  npriv = 0;
  /** Core cycles executed (or slept) since construction. */
  cycles = 0;
  /** Of `cycles`, those spent asleep in WFI/WFE: the rest is the core's load. */
  sleptCycles = 0;

  readonly bus: CpuBus;
  readonly clock: VirtualClock;
  /** NVIC and exception state; `nvic.line(n)` is IRQ n's input. */
  readonly nvic = new ExceptionController();
  readonly sysTick: SysTick;
  readonly scs: SystemControlSpace;
  semihosting: Semihosting | null;
  /**
   * AIRCR.SYSRESETREQ. The chip wires this to reset its peripherals and the
   * core; left null, the core resets itself.
   */
  onResetRequest: (() => void) | null = null;
  /** The last fault that became a HardFault or lockup, for diagnostics. */
  lastFault: string | null = null;

  private readonly table = decodeTable();
  /** The SP not in use (r[13] holds the current one). */
  private otherSp = 0;
  private onPsp = false;
  private sleeping = SLEEP_NONE;
  private halt: RunResult | null = null;
  private resetRequested = false;
  /** Execute until `cycles` reaches this; -1 forces a return to `service`. */
  private deadline = -1;
  private stopCycle = Infinity;
  private freq = 16_000_000;
  private nsPerCycle = 1e9 / 16_000_000;
  private epochNs = 0;
  private epochCycles = 0;
  // Region instructions are fetched from (also tried for data reads: literal pools).
  private cBase = 0;
  private cSize = 0;
  private c16: Uint16Array = EMPTY16;
  private c32: Int32Array = EMPTY32;
  private c8: Uint8Array = EMPTY8;
  // Writable region data last went to.
  private dBase = 0;
  private dSize = 0;
  private d8: Uint8Array = EMPTY8;
  private d16: Uint16Array = EMPTY16;
  private d32: Int32Array = EMPTY32;
  private readonly shMemory: SemihostingMemory;
  // Fetch timing (setFetchTiming); ftSize 0: every fetch costs no extra cycle.
  private ftBase = 0;
  private ftSize = 0;
  private ftWait = 0;
  private ftLineMask = ~7;
  private ftPrefetch = false;
  private ftCache: Int32Array = EMPTY32;
  private ftCacheNext = 0;
  /** log2 of the line size. */
  private ftLineShift = 3;
  /** Per line of the timed range, 1 while `ftCache` holds it: a lookup without a search. */
  private ftCached: Uint8Array = EMPTY8;
  /** The line the core executes from, and the cycle it was there. */
  private curLine = -1;
  private lineReady = 0;
  /** Wait states of data reads through the code region's fast path. */
  private cDataWait = 0;
  private observer: CpuObserver | null = null;

  constructor(options: CpuOptions) {
    this.bus = options.bus;
    this.clock = options.clock;
    this.semihosting = options.semihosting ?? null;
    this.epochNs = this.clock.nowNs;
    if (options.frequencyHz !== undefined) this.frequencyHz = options.frequencyHz;
    this.sysTick = new SysTick(
      () => this.cycles,
      () => this.nvic.pendSystem(Exc.SYSTICK),
      options.sysTick,
    );
    this.scs = new SystemControlSpace(this.nvic, this.sysTick, {
      ipsr: () => this.ipsr,
      requestReset: () => {
        this.resetRequested = true;
        this.kick();
      },
    });
    this.nvic.onChange = () => this.kick();
    this.clock.onEarliestChange = (dueNs) => this.runUntilAtMost(dueNs);
    this.shMemory = {
      read8: (a) => this.read8(a),
      read32: (a) => this.read32(a),
      write8: (a, v) => this.write8(a, v),
      write32: (a, v) => this.write32(a, v),
    };
  }

  // ---------------------------------------------------------------- time

  get frequencyHz(): number {
    return this.freq;
  }

  /** Change the core clock (the RCC switching SYSCLK); takes effect from now on. */
  set frequencyHz(hz: number) {
    if (!(hz > 0) || !Number.isFinite(hz)) throw new RangeError(`frequency must be > 0 Hz, got ${hz}`);
    this.epochNs = this.nowNs;
    this.epochCycles = this.cycles;
    this.freq = hz;
    this.nsPerCycle = 1e9 / hz;
    this.kick();
  }

  /** Virtual time at the current instruction boundary. */
  get nowNs(): number {
    return this.epochNs + (this.cycles - this.epochCycles) * this.nsPerCycle;
  }

  /** First cycle count at which virtual time is at or past `ns`. */
  private cycleAt(ns: number): number {
    if (ns === Infinity) return Infinity;
    return this.epochCycles + Math.max(0, Math.ceil((ns - this.epochNs) / this.nsPerCycle));
  }

  /**
   * A clock event newly due at `dueNs`: stop executing at the first
   * instruction boundary at or past it (as `service` would have set, had it
   * been scheduled then), rather than at the next one only to find nothing
   * due yet.
   */
  private runUntilAtMost(dueNs: number): void {
    const cycle = this.cycleAt(dueNs);
    if (cycle < this.deadline) this.deadline = cycle;
  }

  /** Make the execute loop stop at the next instruction boundary. */
  private kick(): void {
    this.deadline = -1;
  }

  /**
   * Attaches a debugger's observer (null detaches): from the next
   * instruction boundary the core runs its exact path, one instruction at a
   * time, with no memory region cached, so `observer` sees every
   * instruction and data access.
   */
  setObserver(observer: CpuObserver | null): void {
    this.observer = observer;
    this.dSize = 0;
    this.cSize = 0;
    this.kick();
  }

  // ---------------------------------------------------------------- state

  /** Whether the core is sleeping in WFI/WFE. */
  get isSleeping(): boolean {
    return this.sleeping !== SLEEP_NONE;
  }

  /** Halt reason (breakpoint, exit, lockup), or null while runnable. */
  get halted(): RunResult | null {
    return this.halt;
  }

  get sp(): number {
    return this.r[13]! >>> 0;
  }

  get msp(): number {
    return (this.onPsp ? this.otherSp : this.r[13]!) >>> 0;
  }

  set msp(value: number) {
    if (this.onPsp) this.otherSp = value & ~3;
    else this.r[13] = value & ~3;
  }

  get psp(): number {
    return (this.onPsp ? this.r[13]! : this.otherSp) >>> 0;
  }

  set psp(value: number) {
    if (this.onPsp) this.r[13] = value & ~3;
    else this.otherSp = value & ~3;
  }

  /** APSR as a word: N, Z, C, V in bits 31:28; the rest read as zero. */
  get apsr(): number {
    return ((this.n << 31) | (this.z << 30) | (this.c << 29) | (this.v << 28)) >>> 0;
  }

  set apsr(value: number) {
    this.n = (value >>> 31) & 1;
    this.z = (value >>> 30) & 1;
    this.c = (value >>> 29) & 1;
    this.v = (value >>> 28) & 1;
  }

  /** xPSR as stacked on exception entry: APSR, T bit, IPSR. */
  get xpsr(): number {
    return (this.apsr | (1 << 24) | this.ipsr) >>> 0;
  }

  get control(): number {
    return (this.spsel << 1) | this.npriv;
  }

  /** CONTROL as MSR writes it: nPRIV, and SPSEL only in thread mode (§B5.2.3). */
  set control(value: number) {
    this.npriv = value & 1;
    if (this.ipsr === 0) {
      this.spsel = (value >>> 1) & 1;
      this.useStack(this.spsel !== 0);
    }
  }

  /** Register n as an instruction would read it (PC reads as pc + 4). */
  reg(n: number): number {
    return n === 15 ? (this.pc + 4) >>> 0 : this.r[n]! >>> 0;
  }

  private get privileged(): boolean {
    return this.ipsr !== 0 || this.npriv === 0;
  }

  /** Switch the banked SP so that r[13] is PSP (true) or MSP (false). */
  private useStack(psp: boolean): void {
    if (psp === this.onPsp) return;
    const cur = this.r[13]!;
    this.r[13] = this.otherSp;
    this.otherSp = cur;
    this.onPsp = psp;
  }

  // ---------------------------------------------------------------- reset and run

  /**
   * Power-on/system reset of the core (§B1.5.5): NVIC, SCB and SysTick to
   * reset values, MSP and PC from the vector table at address 0.
   */
  reset(): void {
    this.r.fill(0);
    this.r[14] = -1;
    this.n = this.z = this.c = this.v = 0;
    this.ipsr = 0;
    this.primask = 0;
    this.spsel = 0;
    this.npriv = 0;
    this.onPsp = false;
    this.otherSp = 0;
    this.sleeping = SLEEP_NONE;
    this.halt = null;
    this.resetRequested = false;
    this.lastFault = null;
    this.curLine = -1;
    this.nvic.reset();
    this.sysTick.reset();
    this.scs.reset();
    this.kick();
    let sp: number;
    let entry: number;
    try {
      sp = this.read32(0);
      entry = this.read32(4);
    } catch (e) {
      this.pc = 0;
      this.lockup(`reset: cannot read the vector table (${(e as Error).message})`);
      return;
    }
    this.r[13] = sp & ~3;
    this.pc = entry & ~1;
    if ((entry & 1) === 0) this.takeFault(new CpuFault(`reset vector ${hex(entry)} is not a Thumb address`));
  }

  /** Leave a breakpoint halt: skip the BKPT and carry on. */
  resume(): void {
    if (this.halt?.reason === 'breakpoint') {
      this.pc = (this.halt.pc + 2) >>> 0;
      this.halt = null;
    }
  }

  /**
   * Ends the current run() at the next instruction boundary, as if its time
   * were up: for a host that has something to act on now (a reply that has
   * just left the chip), so the host's answer is not held back to the end
   * of the slice. Outside run() it does nothing.
   */
  yieldSoon(): void {
    if (this.stopCycle > this.cycles) this.stopCycle = this.cycles;
    if (this.deadline > this.cycles) this.deadline = this.cycles;
  }

  /**
   * Run until `maxNs` of virtual time has passed, the core sleeps with
   * nothing scheduled ('idle'), the program exits, or it halts. Clock
   * callbacks fire at their due time along the way.
   */
  private sleepUntil(cycle: number): void {
    this.sleptCycles += cycle - this.cycles;
    this.cycles = cycle;
  }

  run(maxNs: number): RunResult {
    this.followClock();
    this.stopCycle = this.cycleAt(this.nowNs + Math.max(0, maxNs));
    try {
      for (;;) {
        this.service();
        if (this.halt !== null) return this.halt;
        if (this.sleeping !== SLEEP_NONE) {
          const next = Math.min(this.cycleAt(this.clock.nextDueNs()), this.sysTick.nextInterruptCycle);
          if (next === Infinity) return IDLE;
          if (next >= this.stopCycle) {
            if (this.stopCycle > this.cycles) this.sleepUntil(this.stopCycle);
            return TIME;
          }
          // Asleep: jump straight to the next event.
          if (next > this.cycles) this.sleepUntil(next);
          continue;
        }
        if (this.cycles >= this.stopCycle) return TIME;
        const observer = this.observer;
        if (observer !== null) {
          if (observer.shouldStop(this.pc)) return OBSERVED;
          this.deadline = -1; // one instruction
        }
        this.execute();
      }
    } finally {
      this.stopCycle = Infinity;
      this.clock.advanceTo(this.nowNs);
    }
  }

  /**
   * Cross one instruction boundary: take a pending exception if one is due
   * (no instruction runs), else execute one instruction. Asleep, it first
   * jumps to the next event.
   */
  step(): RunResult {
    this.followClock();
    this.stopCycle = Infinity;
    if (this.service()) return STEP;
    if (this.halt !== null) return this.halt;
    if (this.sleeping !== SLEEP_NONE) {
      const next = Math.min(this.cycleAt(this.clock.nextDueNs()), this.sysTick.nextInterruptCycle);
      if (next === Infinity) return IDLE;
      if (next > this.cycles) this.sleepUntil(next);
      this.service();
      return this.halt ?? STEP;
    }
    this.deadline = -1;
    this.execute();
    this.clock.advanceTo(this.nowNs);
    return this.halt ?? STEP;
  }

  /** If something else moved the clock on while the core was stopped, catch up with it. */
  private followClock(): void {
    const now = this.nowNs;
    if (this.clock.nowNs > now) {
      this.epochNs = this.clock.nowNs;
      this.epochCycles = this.cycles;
    }
  }

  /**
   * Work between instructions: reset requests, due clock callbacks, SysTick
   * wraps, waking up, and taking the most urgent pending exception. Returns
   * whether an exception was entered. Sets the next deadline.
   */
  private service(): boolean {
    if (this.resetRequested) {
      this.resetRequested = false;
      if (this.onResetRequest) this.onResetRequest();
      else this.reset();
    }
    this.clock.advanceTo(this.nowNs);
    this.sysTick.catchUp(this.cycles);
    let took = false;
    if (this.halt === null) {
      const exc = this.nvic;
      const n = exc.toTake(this.primask !== 0);
      if (n !== 0) {
        this.sleeping = SLEEP_NONE;
        this.enterException(n, this.pc);
        took = true;
      } else if (this.sleeping === SLEEP_WFI) {
        if (exc.wouldWake()) this.sleeping = SLEEP_NONE;
      } else if (this.sleeping === SLEEP_WFE) {
        if (exc.eventRegister || exc.wouldWake()) {
          exc.eventRegister = false;
          this.sleeping = SLEEP_NONE;
        }
      }
    }
    let dl = this.stopCycle;
    const due = this.cycleAt(this.clock.nextDueNs());
    if (due < dl) dl = due;
    if (this.sysTick.nextInterruptCycle < dl) dl = this.sysTick.nextInterruptCycle;
    // A bounded batch: `execute` returns now and then, so the engine runs it
    // as a function called often rather than one long on-stack-replaced
    // loop. Servicing at a boundary where nothing is due changes nothing.
    if (this.cycles + MAX_BATCH_CYCLES < dl) dl = this.cycles + MAX_BATCH_CYCLES;
    this.deadline = dl;
    return took;
  }

  // ---------------------------------------------------------------- exceptions

  /** Exception entry (§B1.5.6): push the frame, switch to handler mode, load the vector. */
  private enterException(n: number, returnAddress: number): void {
    const r = this.r;
    try {
      const sp = r[13]!;
      const frame = (sp - 0x20) & ~4; // 8-byte aligned frame (CCR.STKALIGN is fixed at 1)
      const xpsr = this.xpsr | ((sp & 4) !== 0 ? 1 << 9 : 0);
      this.write32(frame, r[0]!);
      this.write32(frame + 4, r[1]!);
      this.write32(frame + 8, r[2]!);
      this.write32(frame + 12, r[3]!);
      this.write32(frame + 16, r[12]!);
      this.write32(frame + 20, r[14]!);
      this.write32(frame + 24, returnAddress);
      this.write32(frame + 28, xpsr);
      r[13] = frame;
      r[14] = this.ipsr !== 0 ? 0xfffffff1 : this.onPsp ? 0xfffffffd : 0xfffffff9;
      this.ipsr = n;
      this.spsel = 0;
      this.useStack(false);
      this.nvic.activate(n);
      this.nvic.eventRegister = true;
      this.cycles += EXCEPTION_ENTRY_CYCLES;
      const vector = this.read32(this.scs.vtor + 4 * n);
      this.pc = vector & ~1;
      if ((vector & 1) === 0)
        throw new CpuFault(`vector ${n} (${hex(vector)}) is not a Thumb address`, this.pc);
    } catch (e) {
      if (!(e instanceof CpuFault || e instanceof BusError)) throw e;
      if (n === Exc.HARD_FAULT || n === Exc.NMI) this.lockup(`${e.message} while entering exception ${n}`);
      else this.takeFault(e);
    }
  }

  /** Exception return (§B1.5.8), triggered by loading an EXC_RETURN value into PC in handler mode. */
  private exceptionReturn(excReturn: number): void {
    const kind = excReturn & 15;
    if (excReturn >>> 4 !== 0x0fffffff || (kind !== 1 && kind !== 9 && kind !== 13)) {
      throw new CpuFault(`invalid EXC_RETURN ${hex(excReturn)}`);
    }
    const returning = this.ipsr;
    if (this.nvic.active[returning] === 0) throw new CpuFault(`return from inactive exception ${returning}`);
    this.nvic.deactivate(returning);
    const toThread = kind !== 1;
    this.spsel = kind === 13 ? 1 : 0;
    this.useStack(kind === 13);
    const r = this.r;
    const frame = r[13]!;
    r[0] = this.read32(frame);
    r[1] = this.read32(frame + 4);
    r[2] = this.read32(frame + 8);
    r[3] = this.read32(frame + 12);
    r[12] = this.read32(frame + 16);
    r[14] = this.read32(frame + 20);
    const pc = this.read32(frame + 24);
    const xpsr = this.read32(frame + 28);
    r[13] = (frame + 0x20) | ((xpsr & (1 << 9)) !== 0 ? 4 : 0);
    this.apsr = xpsr;
    this.ipsr = toThread ? 0 : xpsr & 0x3f;
    this.pc = pc & ~1;
    this.nvic.eventRegister = true;
    this.cycles += EXCEPTION_RETURN_CYCLES;
    if (toThread && this.nvic.activeCount === 0 && this.scs.sleepOnExit) this.sleeping = SLEEP_WFI;
    this.kick();
  }

  /** SVC: SVCall if its priority allows, else escalation to HardFault (§B1.5.14). */
  private svc(): void {
    const exc = this.nvic;
    if (exc.svcPriority < exc.executionPriority(this.primask !== 0)) this.enterException(Exc.SVCALL, this.pc);
    else this.takeFault(new CpuFault('SVC at a priority that cannot be taken'));
  }

  /** A synchronous fault: HardFault, or lockup if already at HardFault priority or above. */
  private takeFault(e: CpuFault | BusError): void {
    const reason = `${e.message} (pc ${hex(this.pc)})`;
    this.lastFault = reason;
    if (this.nvic.executionPriority(this.primask !== 0) <= -1) {
      this.lockup(reason);
      return;
    }
    const ret = e instanceof CpuFault && e.returnAddress !== undefined ? e.returnAddress : this.pc;
    this.enterException(Exc.HARD_FAULT, ret);
  }

  private lockup(fault: string): void {
    this.lastFault = fault;
    this.halt = { reason: 'lockup', pc: this.pc >>> 0, fault };
    this.kick();
  }

  private sleep(kind: number): void {
    this.sleeping = kind;
    this.kick();
  }

  // ---------------------------------------------------------------- memory

  private unaligned(a: number, size: AccessSize, write: boolean): CpuFault {
    return new CpuFault(`unaligned ${size}-byte ${write ? 'write' : 'read'} at ${hex(a)}`);
  }

  read32(a: number): number {
    if ((a & 3) !== 0) throw this.unaligned(a, 4, false);
    let o = (a - this.dBase) >>> 0;
    if (o < this.dSize) return this.d32[o >>> 2]!;
    o = (a - this.cBase) >>> 0;
    if (o < this.cSize) {
      this.cycles += this.cDataWait;
      return this.c32[o >>> 2]!;
    }
    return this.readSlow(a >>> 0, 4) | 0;
  }

  read16(a: number): number {
    if ((a & 1) !== 0) throw this.unaligned(a, 2, false);
    let o = (a - this.dBase) >>> 0;
    if (o < this.dSize) return this.d16[o >>> 1]!;
    o = (a - this.cBase) >>> 0;
    if (o < this.cSize) {
      this.cycles += this.cDataWait;
      return this.c16[o >>> 1]!;
    }
    return this.readSlow(a >>> 0, 2);
  }

  read8(a: number): number {
    let o = (a - this.dBase) >>> 0;
    if (o < this.dSize) return this.d8[o]!;
    o = (a - this.cBase) >>> 0;
    if (o < this.cSize) {
      this.cycles += this.cDataWait;
      return this.c8[o]!;
    }
    return this.readSlow(a >>> 0, 1);
  }

  write32(a: number, value: number): void {
    if ((a & 3) !== 0) throw this.unaligned(a, 4, true);
    const o = (a - this.dBase) >>> 0;
    if (o < this.dSize) this.d32[o >>> 2] = value;
    else this.writeSlow(a >>> 0, value >>> 0, 4);
  }

  write16(a: number, value: number): void {
    if ((a & 1) !== 0) throw this.unaligned(a, 2, true);
    const o = (a - this.dBase) >>> 0;
    if (o < this.dSize) this.d16[o >>> 1] = value;
    else this.writeSlow(a >>> 0, value & 0xffff, 2);
  }

  write8(a: number, value: number): void {
    const o = (a - this.dBase) >>> 0;
    if (o < this.dSize) this.d8[o] = value;
    else this.writeSlow(a >>> 0, value & 0xff, 1);
  }

  private readSlow(a: number, size: AccessSize): number {
    this.observer?.access(a, size, false);
    if (a >= SYSTEM_REGION) return this.ppb(a, size).read(a - SCS_BASE, size);
    const mem = this.bus.memoryAt(a);
    if (mem !== undefined && a + size <= mem.base + mem.size) {
      if (mem.writable) this.useDataRegion(mem);
      // Data read from memory behind wait states (as on the code region's fast path).
      if ((a - this.ftBase) >>> 0 < this.ftSize) this.cycles += this.ftWait;
      const o = a - mem.base;
      if (size === 4) return mem.i32[o >>> 2]! >>> 0;
      if (size === 2) return mem.u16[o >>> 1]!;
      return mem.u8[o]!;
    }
    this.syncClock();
    return this.bus.read(a, size);
  }

  private writeSlow(a: number, value: number, size: AccessSize): void {
    this.observer?.access(a, size, true);
    if (a >= SYSTEM_REGION) {
      this.ppb(a, size).write(a - SCS_BASE, value, size);
      return;
    }
    const mem = this.bus.memoryAt(a);
    if (mem?.writable && a + size <= mem.base + mem.size) {
      this.useDataRegion(mem);
      const o = a - mem.base;
      if (size === 4) mem.i32[o >>> 2] = value;
      else if (size === 2) mem.u16[o >>> 1] = value;
      else mem.u8[o] = value;
      return;
    }
    this.syncClock();
    this.bus.write(a, value, size);
  }

  /** The private peripheral bus: only the SCS is implemented; the rest faults. */
  private ppb(a: number, size: AccessSize): SystemControlSpace {
    if (a >= SCS_BASE && a < SCS_BASE + SCS_SIZE) return this.scs;
    throw new BusError(a, false, size);
  }

  /** Devices may look at the clock: make it show the current instruction's time. */
  private syncClock(): void {
    this.clock.advanceTo(this.nowNs);
  }

  private useDataRegion(mem: MemoryRegion): void {
    if (this.observer !== null) return; // every access goes by readSlow/writeSlow
    this.dBase = mem.base;
    this.dSize = mem.size;
    this.d8 = mem.u8;
    this.d16 = mem.u16;
    this.d32 = mem.i32;
  }

  /**
   * Makes instruction fetches from `[base, base + size)` fail with `reason`
   * (a HardFault; a fetch that fails in the handler too locks the core up),
   * or work again with `null`: memory whose interface can no longer deliver
   * instructions, such as flash read with too few wait states.
   */
  setFetchFault(base: number, size: number, reason: string | null): void {
    this.fetchFaults = this.fetchFaults.filter((f) => f.base !== base);
    if (reason !== null) this.fetchFaults.push({ base: base >>> 0, size, reason });
    this.cSize = 0; // every fetch goes through useCodeRegion again
  }

  private fetchFaults: { base: number; size: number; reason: string }[] = [];

  /** Makes fetches from a range cost wait states (see `FetchTiming`), or none again with `null`. */
  setFetchTiming(timing: FetchTiming | null): void {
    const on = timing !== null && timing.waitStates > 0 && timing.size > 0;
    this.ftBase = on ? timing.base >>> 0 : 0;
    this.ftSize = on ? timing.size : 0;
    this.ftWait = on ? timing.waitStates : 0;
    this.ftLineMask = on ? ~(timing.lineBytes - 1) : ~7;
    this.ftPrefetch = on && timing.prefetch;
    this.ftCache = on && timing.cacheLines > 0 ? new Int32Array(timing.cacheLines).fill(-1) : EMPTY32;
    this.ftCacheNext = 0;
    this.ftLineShift = on ? 31 - Math.clz32(timing.lineBytes) : 3;
    this.ftCached =
      on && timing.cacheLines > 0 ? new Uint8Array(Math.ceil(timing.size / timing.lineBytes)) : EMPTY8;
    this.curLine = -1;
    this.cSize = 0; // the code region's data wait states are worked out again
    this.kick();
  }

  /** Extra cycles the fetch of the line holding `pc` costs, the core having left the line it was in. */
  private lineStall(pc: number): number {
    const line = pc & this.ftLineMask;
    const previous = this.curLine;
    this.curLine = line;
    if ((line - this.ftBase) >>> 0 >= this.ftSize) return 0;
    const now = this.cycles;
    const cache = this.ftCache;
    const index = (line - this.ftBase) >>> this.ftLineShift;
    if (this.ftCached[index] === 1) {
      this.lineReady = now;
      return 0;
    }
    let stall = this.ftWait;
    // The prefetch read this line as soon as the previous one was in: only the rest of that read is left.
    // (-ftLineMask is the line size.)
    if (this.ftPrefetch && line === ((previous - this.ftLineMask) | 0))
      stall = Math.max(0, this.lineReady + this.ftWait - now);
    if (cache.length > 0) {
      // FIFO replacement: the oldest line leaves.
      const old = cache[this.ftCacheNext]!;
      if (old !== -1) this.ftCached[(old - this.ftBase) >>> this.ftLineShift] = 0;
      cache[this.ftCacheNext] = line;
      this.ftCached[index] = 1;
      this.ftCacheNext = (this.ftCacheNext + 1) % cache.length;
    }
    this.lineReady = now + stall;
    return stall;
  }

  private useCodeRegion(pc: number): void {
    const a = pc >>> 0;
    for (const f of this.fetchFaults)
      if ((a - f.base) >>> 0 < f.size)
        throw new CpuFault(`instruction fetch from ${hex(a)} failed: ${f.reason}`);
    const mem = a < SYSTEM_REGION ? this.bus.memoryAt(a) : undefined;
    if (mem === undefined)
      throw new CpuFault(`instruction fetch from ${hex(a)}, which is not executable memory`);
    this.cBase = mem.base;
    this.cDataWait = (mem.base - this.ftBase) >>> 0 < this.ftSize ? this.ftWait : 0;
    // While a fault is set, keep checking every fetch.
    this.cSize = this.fetchFaults.length === 0 && this.observer === null ? mem.size : 0;
    this.c8 = mem.u8;
    this.c16 = mem.u16;
    this.c32 = mem.i32;
  }

  private fetch16(a: number): number {
    let o = (a - this.cBase) >>> 0;
    if (o >= this.cSize) {
      this.useCodeRegion(a);
      o = (a - this.cBase) >>> 0;
    }
    return this.c16[o >>> 1]!;
  }

  // ---------------------------------------------------------------- execution

  /**
   * Execute instructions until `cycles` reaches `deadline`. Faults inside an
   * instruction unwind here and become a HardFault with the instruction's
   * address as return address (the local `pc` only moves once an instruction
   * has completed).
   */
  private execute(): void {
    const r = this.r;
    const table = this.table;
    const timed = this.ftSize !== 0;
    const lineMask = this.ftLineMask;
    let pc = this.pc;
    // The cycle count lives in a local while instructions run: it is stored
    // back before any call that may look at it and read again after. Loads
    // and stores index the cached data region (SRAM) here and call
    // read*/write* for anything else: unaligned, another region, a device,
    // or no region cached (an observer attached).
    let cycles = this.cycles;
    try {
      for (;;) {
        let off = (pc - this.cBase) >>> 0;
        if (off >= this.cSize) {
          this.useCodeRegion(pc);
          off = (pc - this.cBase) >>> 0;
        }
        const d = table[this.c16[off >>> 1]!]!;
        if (timed && (pc & lineMask) !== this.curLine) {
          this.cycles = cycles;
          cycles += this.lineStall(pc);
        }
        let cost = 1;
        // Case labels are `Op` numbers written as literals (see decoder.ts).
        switch (d & 0xff) {
          case 1: {
            // LSLS_IMM; an amount of 0 is MOVS and leaves C (§A6.7.35).
            const x = r[(d >>> 12) & 15]!;
            const sh = d >>> 20;
            let res = x;
            if (sh !== 0) {
              res = x << sh;
              this.c = (x >>> (32 - sh)) & 1;
            }
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 2: {
            // LSRS_IMM; an encoded 0 means 32.
            const x = r[(d >>> 12) & 15]!;
            const sh = d >>> 20;
            let res = 0;
            if (sh === 0) this.c = x >>> 31;
            else {
              res = x >>> sh;
              this.c = (x >>> (sh - 1)) & 1;
            }
            r[(d >>> 8) & 15] = res;
            this.n = 0;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 3: {
            // ASRS_IMM; an encoded 0 means 32.
            const x = r[(d >>> 12) & 15]!;
            const sh = d >>> 20;
            let res: number;
            if (sh === 0) {
              res = x >> 31;
              this.c = x >>> 31;
            } else {
              res = x >> sh;
              this.c = (x >> (sh - 1)) & 1;
            }
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 4: {
            // ADDS_REG
            const x = r[(d >>> 12) & 15]!;
            const y = r[(d >>> 16) & 15]!;
            const res = (x + y) | 0;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = (x >>> 0) + (y >>> 0) > 0xffffffff ? 1 : 0;
            this.v = ((x ^ res) & (y ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 5: {
            // SUBS_REG
            const x = r[(d >>> 12) & 15]!;
            const y = r[(d >>> 16) & 15]!;
            const res = (x - y) | 0;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y >>> 0 ? 1 : 0;
            this.v = ((x ^ y) & (x ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 6: {
            // ADDS_IMM3
            const x = r[(d >>> 12) & 15]!;
            const y = d >>> 20;
            const res = (x + y) | 0;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = (x >>> 0) + y > 0xffffffff ? 1 : 0;
            this.v = (~x & res) >>> 31;
            pc += 2;
            break;
          }
          case 7: {
            // SUBS_IMM3
            const x = r[(d >>> 12) & 15]!;
            const y = d >>> 20;
            const res = (x - y) | 0;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y ? 1 : 0;
            this.v = (x & ~res) >>> 31;
            pc += 2;
            break;
          }
          case 8: {
            // MOVS_IMM: N and Z only.
            const res = d >>> 20;
            r[(d >>> 8) & 15] = res;
            this.n = 0;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 9: {
            // CMP_IMM
            const x = r[(d >>> 8) & 15]!;
            const y = d >>> 20;
            const res = (x - y) | 0;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y ? 1 : 0;
            this.v = (x & ~res) >>> 31;
            pc += 2;
            break;
          }
          case 10: {
            // ADDS_IMM8
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const y = d >>> 20;
            const res = (x + y) | 0;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = (x >>> 0) + y > 0xffffffff ? 1 : 0;
            this.v = (~x & res) >>> 31;
            pc += 2;
            break;
          }
          case 11: {
            // SUBS_IMM8
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const y = d >>> 20;
            const res = (x - y) | 0;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y ? 1 : 0;
            this.v = (x & ~res) >>> 31;
            pc += 2;
            break;
          }
          case 12: {
            // ANDS
            const rd = (d >>> 8) & 15;
            const res = r[rd]! & r[(d >>> 12) & 15]!;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 13: {
            // EORS
            const rd = (d >>> 8) & 15;
            const res = r[rd]! ^ r[(d >>> 12) & 15]!;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 14: {
            // LSLS_REG: the amount is the bottom byte of Rm (§A6.7.36).
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const sh = r[(d >>> 12) & 15]! & 0xff;
            let res = x;
            if (sh !== 0) {
              if (sh < 32) {
                res = x << sh;
                this.c = (x >>> (32 - sh)) & 1;
              } else {
                res = 0;
                this.c = sh === 32 ? x & 1 : 0;
              }
            }
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 15: {
            // LSRS_REG
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const sh = r[(d >>> 12) & 15]! & 0xff;
            let res = x;
            if (sh !== 0) {
              if (sh < 32) {
                res = x >>> sh;
                this.c = (x >>> (sh - 1)) & 1;
              } else {
                res = 0;
                this.c = sh === 32 ? x >>> 31 : 0;
              }
            }
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 16: {
            // ASRS_REG: 32 and more fill with the sign bit, which is also C.
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const sh = r[(d >>> 12) & 15]! & 0xff;
            let res = x;
            if (sh !== 0) {
              if (sh < 32) {
                res = x >> sh;
                this.c = (x >> (sh - 1)) & 1;
              } else {
                res = x >> 31;
                this.c = x >>> 31;
              }
            }
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 17: {
            // ADCS
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const y = r[(d >>> 12) & 15]!;
            const sum = (x >>> 0) + (y >>> 0) + this.c;
            const res = sum | 0;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = sum > 0xffffffff ? 1 : 0;
            this.v = ((x ^ res) & (y ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 18: {
            // SBCS: x + NOT(y) + C (§A6.7.56).
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const y = r[(d >>> 12) & 15]!;
            const sum = (x >>> 0) + (~y >>> 0) + this.c;
            const res = sum | 0;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = sum > 0xffffffff ? 1 : 0;
            this.v = ((x ^ y) & (x ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 19: {
            // RORS: a non-zero multiple of 32 leaves the value and copies bit 31 to C.
            const rd = (d >>> 8) & 15;
            const x = r[rd]!;
            const sh = r[(d >>> 12) & 15]! & 0xff;
            let res = x;
            if (sh !== 0) {
              const m = sh & 31;
              if (m !== 0) res = (x >>> m) | (x << (32 - m));
              this.c = res >>> 31;
            }
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 20: {
            // TST
            const res = r[(d >>> 8) & 15]! & r[(d >>> 12) & 15]!;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 21: {
            // RSBS (NEGS): 0 - Rn.
            const y = r[(d >>> 12) & 15]!;
            const res = -y | 0;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = y === 0 ? 1 : 0;
            this.v = (y & res) >>> 31;
            pc += 2;
            break;
          }
          case 22: {
            // CMP_REG
            const x = r[(d >>> 8) & 15]!;
            const y = r[(d >>> 12) & 15]!;
            const res = (x - y) | 0;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y >>> 0 ? 1 : 0;
            this.v = ((x ^ y) & (x ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 23: {
            // CMN
            const x = r[(d >>> 8) & 15]!;
            const y = r[(d >>> 12) & 15]!;
            const res = (x + y) | 0;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = (x >>> 0) + (y >>> 0) > 0xffffffff ? 1 : 0;
            this.v = ((x ^ res) & (y ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 24: {
            // ORRS
            const rd = (d >>> 8) & 15;
            const res = r[rd]! | r[(d >>> 12) & 15]!;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 25: {
            // MULS: N and Z only; C and V unchanged on ARMv6-M (§A6.7.44).
            const rd = (d >>> 8) & 15;
            const res = Math.imul(r[(d >>> 12) & 15]!, r[rd]!);
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 26: {
            // BICS
            const rd = (d >>> 8) & 15;
            const res = r[rd]! & ~r[(d >>> 12) & 15]!;
            r[rd] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 27: {
            // MVNS
            const res = ~r[(d >>> 12) & 15]!;
            r[(d >>> 8) & 15] = res;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            pc += 2;
            break;
          }
          case 28: {
            // ADD_HI: no flags; PC reads as pc + 4; writing PC branches with bit 0 ignored (§A6.7.3).
            const rd = (d >>> 8) & 15;
            const rm = (d >>> 12) & 15;
            const res = ((rd === 15 ? pc + 4 : r[rd]!) + (rm === 15 ? pc + 4 : r[rm]!)) | 0;
            if (rd === 15) {
              pc = res & ~1;
              cost = 2;
            } else {
              r[rd] = rd === 13 ? res & ~3 : res;
              pc += 2;
            }
            break;
          }
          case 29: {
            // CMP_HI
            const rn = (d >>> 8) & 15;
            const rm = (d >>> 12) & 15;
            const x = rn === 15 ? pc + 4 : r[rn]!;
            const y = rm === 15 ? pc + 4 : r[rm]!;
            const res = (x - y) | 0;
            this.n = res >>> 31;
            this.z = res === 0 ? 1 : 0;
            this.c = x >>> 0 >= y >>> 0 ? 1 : 0;
            this.v = ((x ^ y) & (x ^ res)) >>> 31;
            pc += 2;
            break;
          }
          case 30: {
            // MOV_HI
            const rd = (d >>> 8) & 15;
            const rm = (d >>> 12) & 15;
            const x = rm === 15 ? pc + 4 : r[rm]!;
            if (rd === 15) {
              pc = x & ~1;
              cost = 2;
            } else {
              r[rd] = rd === 13 ? x & ~3 : x;
              pc += 2;
            }
            break;
          }
          case 31: {
            // BX: EXC_RETURN in handler mode returns; an even target faults (no ARM state, §A6.7.15).
            const rm = (d >>> 12) & 15;
            const target = (rm === 15 ? pc + 4 : r[rm]!) >>> 0;
            if (this.ipsr !== 0 && target >>> 28 === 0xf) {
              this.pc = pc;
              this.cycles = cycles;
              this.exceptionReturn(target);
              cycles = this.cycles;
              pc = this.pc;
            } else {
              if ((target & 1) === 0) throw new CpuFault(`BX to even address ${hex(target)}`, target);
              pc = target & ~1;
            }
            cost = 2;
            break;
          }
          case 32: {
            // BLX
            const target = r[(d >>> 12) & 15]! >>> 0;
            r[14] = (pc + 2) | 1;
            if ((target & 1) === 0) throw new CpuFault(`BLX to even address ${hex(target)}`, target);
            pc = target & ~1;
            cost = 2;
            break;
          }
          case 33: {
            // LDR_LIT: base is the word-aligned pc + 4, so aligned; the pool is usually in the code region.
            const a = (((pc + 4) & ~3) + (d >>> 20)) | 0;
            const o = (a - this.cBase) >>> 0;
            if (o < this.cSize) {
              cycles += this.cDataWait;
              r[(d >>> 8) & 15] = this.c32[o >>> 2]!;
            } else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read32(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 34: {
            // STR_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) this.d32[o >>> 2] = r[(d >>> 8) & 15]!;
            else {
              this.cycles = cycles;
              this.write32(a, r[(d >>> 8) & 15]!);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 35: {
            // STRH_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 1) === 0 && o < this.dSize) this.d16[o >>> 1] = r[(d >>> 8) & 15]! & 0xffff;
            else {
              this.cycles = cycles;
              this.write16(a, r[(d >>> 8) & 15]! & 0xffff);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 36: {
            // STRB_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if (o < this.dSize) this.d8[o] = r[(d >>> 8) & 15]! & 0xff;
            else {
              this.cycles = cycles;
              this.write8(a, r[(d >>> 8) & 15]! & 0xff);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 37: {
            // LDRSB_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if (o < this.dSize) r[(d >>> 8) & 15] = (this.d8[o]! << 24) >> 24;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = (this.read8(a) << 24) >> 24;
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 38: {
            // LDR_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) r[(d >>> 8) & 15] = this.d32[o >>> 2]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read32(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 39: {
            // LDRH_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 1) === 0 && o < this.dSize) r[(d >>> 8) & 15] = this.d16[o >>> 1]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read16(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 40: {
            // LDRB_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if (o < this.dSize) r[(d >>> 8) & 15] = this.d8[o]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read8(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 41: {
            // LDRSH_REG
            const a = (r[(d >>> 12) & 15]! + r[(d >>> 16) & 15]!) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 1) === 0 && o < this.dSize) r[(d >>> 8) & 15] = (this.d16[o >>> 1]! << 16) >> 16;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = (this.read16(a) << 16) >> 16;
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 42: {
            // STR_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) this.d32[o >>> 2] = r[(d >>> 8) & 15]!;
            else {
              this.cycles = cycles;
              this.write32(a, r[(d >>> 8) & 15]!);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 43: {
            // LDR_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) r[(d >>> 8) & 15] = this.d32[o >>> 2]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read32(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 44: {
            // STRB_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if (o < this.dSize) this.d8[o] = r[(d >>> 8) & 15]! & 0xff;
            else {
              this.cycles = cycles;
              this.write8(a, r[(d >>> 8) & 15]! & 0xff);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 45: {
            // LDRB_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if (o < this.dSize) r[(d >>> 8) & 15] = this.d8[o]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read8(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 46: {
            // STRH_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 1) === 0 && o < this.dSize) this.d16[o >>> 1] = r[(d >>> 8) & 15]! & 0xffff;
            else {
              this.cycles = cycles;
              this.write16(a, r[(d >>> 8) & 15]! & 0xffff);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 47: {
            // LDRH_IMM
            const a = (r[(d >>> 12) & 15]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 1) === 0 && o < this.dSize) r[(d >>> 8) & 15] = this.d16[o >>> 1]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read16(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 48: {
            // STR_SP
            const a = (r[13]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) this.d32[o >>> 2] = r[(d >>> 8) & 15]!;
            else {
              this.cycles = cycles;
              this.write32(a, r[(d >>> 8) & 15]!);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 49: {
            // LDR_SP
            const a = (r[13]! + (d >>> 20)) | 0;
            const o = (a - this.dBase) >>> 0;
            if ((a & 3) === 0 && o < this.dSize) r[(d >>> 8) & 15] = this.d32[o >>> 2]!;
            else {
              this.cycles = cycles;
              r[(d >>> 8) & 15] = this.read32(a);
              cycles = this.cycles;
            }
            pc += 2;
            cost = 2;
            break;
          }
          case 50:
            // ADR
            r[(d >>> 8) & 15] = ((pc + 4) & ~3) + (d >>> 20);
            pc += 2;
            break;
          case 51:
            // ADD_SP_IMM8: Rd = SP + imm
            r[(d >>> 8) & 15] = r[13]! + (d >>> 20);
            pc += 2;
            break;
          case 52:
            // ADD_SP_IMM7
            r[13] = r[13]! + (d >>> 20);
            pc += 2;
            break;
          case 53:
            // SUB_SP_IMM7
            r[13] = r[13]! - (d >>> 20);
            pc += 2;
            break;
          case 54:
            // SXTH
            r[(d >>> 8) & 15] = (r[(d >>> 12) & 15]! << 16) >> 16;
            pc += 2;
            break;
          case 55:
            // SXTB
            r[(d >>> 8) & 15] = (r[(d >>> 12) & 15]! << 24) >> 24;
            pc += 2;
            break;
          case 56:
            // UXTH
            r[(d >>> 8) & 15] = r[(d >>> 12) & 15]! & 0xffff;
            pc += 2;
            break;
          case 57:
            // UXTB
            r[(d >>> 8) & 15] = r[(d >>> 12) & 15]! & 0xff;
            pc += 2;
            break;
          case 58: {
            // PUSH: lowest register at the lowest address; bit 8 is LR.
            const list = d >>> 20;
            const count = (d >>> 16) & 15;
            const sp = (r[13]! - 4 * count) | 0;
            const o = (sp - this.dBase) >>> 0;
            if ((sp & 3) === 0 && o + 4 * count <= this.dSize) {
              // The whole frame is in the data region: no access can fault.
              const d32 = this.d32;
              let w = o >>> 2;
              for (let i = 0; i < 8; i++) if ((list & (1 << i)) !== 0) d32[w++] = r[i]!;
              if ((list & 0x100) !== 0) d32[w] = r[14]!;
            } else {
              this.cycles = cycles;
              let a = sp;
              for (let i = 0; i < 8; i++) {
                if ((list & (1 << i)) !== 0) {
                  this.write32(a, r[i]!);
                  a += 4;
                }
              }
              if ((list & 0x100) !== 0) this.write32(a, r[14]!);
              cycles = this.cycles;
            }
            r[13] = sp;
            pc += 2;
            cost = 1 + count;
            break;
          }
          case 59: {
            // POP: bit 8 is PC, which interworks like BX (§A6.7.49).
            const list = d >>> 20;
            const count = (d >>> 16) & 15;
            const sp = r[13]!;
            const o = (sp - this.dBase) >>> 0;
            let target = 0;
            if ((sp & 3) === 0 && o + 4 * count <= this.dSize) {
              const d32 = this.d32;
              let w = o >>> 2;
              for (let i = 0; i < 8; i++) if ((list & (1 << i)) !== 0) r[i] = d32[w++]!;
              if ((list & 0x100) !== 0) target = d32[w]! >>> 0;
            } else {
              this.cycles = cycles;
              let a = sp;
              for (let i = 0; i < 8; i++) {
                if ((list & (1 << i)) !== 0) {
                  r[i] = this.read32(a);
                  a += 4;
                }
              }
              if ((list & 0x100) !== 0) target = this.read32(a) >>> 0;
              cycles = this.cycles;
            }
            if ((list & 0x100) !== 0) {
              r[13] = sp + 4 * count;
              cost = 3 + count;
              if (this.ipsr !== 0 && target >>> 28 === 0xf) {
                this.pc = pc;
                this.cycles = cycles;
                this.exceptionReturn(target);
                cycles = this.cycles;
                pc = this.pc;
              } else {
                if ((target & 1) === 0) throw new CpuFault(`POP to even address ${hex(target)}`, target);
                pc = target & ~1;
              }
            } else {
              r[13] = sp + 4 * count;
              cost = 1 + count;
              pc += 2;
            }
            break;
          }
          case 60:
            // CPSIE i (ignored when unprivileged)
            if (this.privileged) this.primask = 0;
            this.kick();
            pc += 2;
            break;
          case 61:
            // CPSID i
            if (this.privileged) this.primask = 1;
            pc += 2;
            break;
          case 62: {
            // REV
            const x = r[(d >>> 12) & 15]!;
            r[(d >>> 8) & 15] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
            pc += 2;
            break;
          }
          case 63: {
            // REV16
            const x = r[(d >>> 12) & 15]!;
            r[(d >>> 8) & 15] = ((x & 0x00ff00ff) << 8) | ((x >>> 8) & 0x00ff00ff);
            pc += 2;
            break;
          }
          case 64: {
            // REVSH
            const x = r[(d >>> 12) & 15]!;
            r[(d >>> 8) & 15] = (((x & 0xff) << 24) >> 16) | ((x >>> 8) & 0xff);
            pc += 2;
            break;
          }
          case 65: {
            // BKPT: 0xAB is a semihosting call; anything else halts here.
            const imm = d >>> 20;
            this.pc = pc;
            if (imm === 0xab && this.semihosting !== null) {
              this.cycles = cycles;
              const res = this.semihosting.call(r[0]! >>> 0, r[1]! >>> 0, this.shMemory);
              cycles = this.cycles;
              if (res.kind === 'exit') {
                this.halt = { reason: 'exit', code: res.code };
                this.kick();
              } else {
                r[0] = res.r0;
              }
              pc += 2;
            } else {
              this.halt = { reason: 'breakpoint', pc: pc >>> 0, imm };
              this.kick();
            }
            break;
          }
          case 66:
          case 67:
            // NOP, YIELD
            pc += 2;
            break;
          case 68:
            // WFE: consume the event register, or sleep until an event.
            if (this.nvic.eventRegister) this.nvic.eventRegister = false;
            else this.sleep(SLEEP_WFE);
            pc += 2;
            cost = 2;
            break;
          case 69:
            // WFI: sleep unless something would already wake it (§B1.5.19).
            if (!this.nvic.wouldWake()) this.sleep(SLEEP_WFI);
            pc += 2;
            cost = 2;
            break;
          case 70:
            // SEV
            this.nvic.eventRegister = true;
            pc += 2;
            break;
          case 71: {
            // STM (STMIA Rn!): always writes back.
            const rn = (d >>> 12) & 15;
            const list = d >>> 20;
            const count = (d >>> 16) & 15;
            const base = r[rn]!;
            if ((base & 3) !== 0) throw this.unaligned(base, 4, true);
            const o = (base - this.dBase) >>> 0;
            if (o + 4 * count <= this.dSize) {
              const d32 = this.d32;
              let w = o >>> 2;
              for (let i = 0; i < 8; i++) if ((list & (1 << i)) !== 0) d32[w++] = r[i]!;
            } else {
              this.cycles = cycles;
              let a = base;
              for (let i = 0; i < 8; i++) {
                if ((list & (1 << i)) !== 0) {
                  this.write32(a, r[i]!);
                  a += 4;
                }
              }
              cycles = this.cycles;
            }
            r[rn] = base + 4 * count;
            pc += 2;
            cost = 1 + count;
            break;
          }
          case 72: {
            // LDM: writes back only when Rn is not in the list (§A6.7.40).
            const rn = (d >>> 12) & 15;
            const list = d >>> 20;
            const count = (d >>> 16) & 15;
            const base = r[rn]!;
            if ((base & 3) !== 0) throw this.unaligned(base, 4, false);
            const o = (base - this.dBase) >>> 0;
            if (o + 4 * count <= this.dSize) {
              const d32 = this.d32;
              let w = o >>> 2;
              for (let i = 0; i < 8; i++) if ((list & (1 << i)) !== 0) r[i] = d32[w++]!;
            } else {
              this.cycles = cycles;
              let a = base;
              for (let i = 0; i < 8; i++) {
                if ((list & (1 << i)) !== 0) {
                  r[i] = this.read32(a);
                  a += 4;
                }
              }
              cycles = this.cycles;
            }
            if ((list & (1 << rn)) === 0) r[rn] = base + 4 * count;
            pc += 2;
            cost = 1 + count;
            break;
          }
          // Conditional branches: one case per condition rather than a shared
          // condition test, so the hottest instructions of a loop cost one
          // switch dispatch and one flag compare.
          case 73:
            // BEQ
            if (this.z !== 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 74:
            // BNE
            if (this.z === 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 75:
            // BCS
            if (this.c !== 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 76:
            // BCC
            if (this.c === 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 77:
            // BMI
            if (this.n !== 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 78:
            // BPL
            if (this.n === 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 79:
            // BVS
            if (this.v !== 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 80:
            // BVC
            if (this.v === 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 81:
            // BHI
            if (this.c !== 0 && this.z === 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 82:
            // BLS
            if (this.c === 0 || this.z !== 0) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 83:
            // BGE
            if (this.n === this.v) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 84:
            // BLT
            if (this.n !== this.v) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 85:
            // BGT
            if (this.z === 0 && this.n === this.v) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 86:
            // BLE
            if (this.z !== 0 || this.n !== this.v) {
              pc += 4 + (d >> 20);
              cost = 2;
            } else pc += 2;
            break;
          case 88:
            // SVC: the return address is the next instruction.
            this.pc = pc + 2;
            this.cycles = cycles;
            this.svc();
            cycles = this.cycles;
            pc = this.pc;
            break;
          case 89:
            // B
            pc += 4 + (d >> 20);
            cost = 2;
            break;
          case 90: {
            // T32: BL, MSR, MRS, DSB, DMB, ISB (§A5.3).
            const hw1 = this.c16[off >>> 1]!;
            const hw2 = this.fetch16(pc + 2);
            if ((hw2 & 0xd000) === 0xd000) {
              // BL: offset = S:I1:I2:imm10:imm11:0 with Ix = NOT(Jx XOR S) (§A6.7.13).
              const s = (hw1 >>> 10) & 1;
              const i1 = ~((hw2 >>> 13) ^ s) & 1;
              const i2 = ~((hw2 >>> 11) ^ s) & 1;
              const offset =
                (((s << 24) | (i1 << 23) | (i2 << 22) | ((hw1 & 0x3ff) << 12) | ((hw2 & 0x7ff) << 1)) << 7) >>
                7;
              r[14] = (pc + 4) | 1;
              pc = (pc + 4 + offset) | 0;
              cost = 3;
            } else {
              this.pc = pc;
              this.cycles = cycles;
              this.system32(hw1, hw2);
              cycles = this.cycles;
              pc += 4;
              cost = 3;
            }
            break;
          }
          default:
            // UNDEFINED, UDF (87)
            throw new CpuFault(`undefined instruction ${hex(this.c16[off >>> 1]!).slice(6)}`);
        }
        cycles += cost;
        if (cycles >= this.deadline) break;
      }
    } catch (e) {
      // Thrown inside a call, `this.cycles` holds the count (calls only add to it); else the local does.
      if (cycles > this.cycles) this.cycles = cycles;
      if (!(e instanceof CpuFault || e instanceof BusError)) {
        this.pc = pc;
        throw e;
      }
      this.pc = pc >>> 0;
      this.cycles += 1;
      this.takeFault(e);
      return;
    }
    this.cycles = cycles;
    this.pc = pc >>> 0;
  }

  /** MSR, MRS and the barriers; anything else in this space is UNDEFINED. */
  private system32(hw1: number, hw2: number): void {
    const r = this.r;
    if ((hw1 & 0xfff0) === 0xf380 && (hw2 & 0xff00) === 0x8800) {
      const rn = hw1 & 15;
      if (rn === 13 || rn === 15) throw new CpuFault('MSR with SP or PC');
      this.msr(hw2 & 0xff, r[rn]!);
      return;
    }
    if (hw1 === 0xf3ef && (hw2 & 0xf000) === 0x8000) {
      const rd = (hw2 >>> 8) & 15;
      if (rd === 13 || rd === 15) throw new CpuFault('MRS to SP or PC');
      r[rd] = this.mrs(hw2 & 0xff);
      return;
    }
    if (hw1 === 0xf3bf && (hw2 & 0xff00) === 0x8f00) {
      const op = (hw2 >>> 4) & 15;
      // DSB, DMB, ISB: memory is already coherent and in order here.
      if (op === 4 || op === 5 || op === 6) return;
    }
    throw new CpuFault(`undefined instruction ${hex((hw1 << 16) | hw2)}`);
  }

  /** MRS (§B5.2.2). EPSR reads as zero. */
  private mrs(sysm: number): number {
    if (sysm < 8) {
      let v = 0;
      if ((sysm & 1) !== 0) v |= this.ipsr;
      if ((sysm & 4) === 0) v |= this.apsr;
      return v;
    }
    switch (sysm) {
      case 8:
        return this.msp;
      case 9:
        return this.psp;
      case 16:
        return this.primask;
      case 20:
        return this.control;
      default:
        return 0;
    }
  }

  /** MSR (§B5.2.3). */
  private msr(sysm: number, value: number): void {
    if (sysm < 8) {
      if ((sysm & 4) === 0) this.apsr = value;
      return;
    }
    if (!this.privileged) return;
    switch (sysm) {
      case 8:
        this.msp = value;
        break;
      case 9:
        this.psp = value;
        break;
      case 16:
        this.primask = value & 1;
        this.kick();
        break;
      case 20:
        this.control = value;
        break;
      default:
        break;
    }
  }
}
