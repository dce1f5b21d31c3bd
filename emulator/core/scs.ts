/**
 * The System Control Space at 0xE000E000 (DDI 0419 §B3.2-B3.4): SysTick,
 * NVIC and SCB registers as a memory-mapped device. ARMv6-M allows only
 * word accesses here; other widths fault. Unimplemented offsets read as zero
 * and ignore writes, like the reserved parts of a real SCS.
 */
import { type AccessSize, BusError, type MemoryMappedDevice } from './bus.ts';
import { Exc, type ExceptionController } from './exceptions.ts';
import type { SysTick } from './systick.ts';

export const SCS_BASE = 0xe000e000;
export const SCS_SIZE = 0x1000;
/** Cortex-M0+ r0p1. */
export const CPUID = 0x410cc601;

const ICSR_NMIPENDSET = 1 << 31;
const ICSR_PENDSVSET = 1 << 28;
const ICSR_PENDSVCLR = 1 << 27;
const ICSR_PENDSTSET = 1 << 26;
const ICSR_PENDSTCLR = 1 << 25;
const ICSR_ISRPENDING = 1 << 22;
const AIRCR_VECTKEY = 0x05fa;
const AIRCR_SYSRESETREQ = 1 << 2;
const SCR_SLEEPONEXIT = 1 << 1;
const SCR_SLEEPDEEP = 1 << 2;
const SCR_SEVONPEND = 1 << 4;
/** STKALIGN and UNALIGN_TRP, both fixed at 1 on ARMv6-M. */
const CCR_VALUE = (1 << 9) | (1 << 3);
const PRIORITY_MASK = 0xc0;

export interface ScsHost {
  /** Current IPSR (exception number, 0 in thread mode). */
  ipsr(): number;
  /** AIRCR.SYSRESETREQ was written. */
  requestReset(): void;
}

export class SystemControlSpace implements MemoryMappedDevice {
  readonly name = 'SCS';
  vtor = 0;
  sleepOnExit = false;
  sleepDeep = false;

  constructor(
    private readonly exc: ExceptionController,
    private readonly sysTick: SysTick,
    private readonly host: ScsHost,
  ) {}

  reset(): void {
    this.vtor = 0;
    this.sleepOnExit = false;
    this.sleepDeep = false;
  }

  /** A debugger's read: SYST_CSR.COUNTFLAG stays set. */
  peek(offset: number, size: AccessSize): number {
    return this.read(offset, size, true);
  }

  read(offset: number, size: AccessSize, peek = false): number {
    if (size !== 4 || (offset & 3) !== 0) throw new BusError(SCS_BASE + offset, false, size);
    const exc = this.exc;
    if (offset >= 0x10 && offset < 0x20) return this.sysTick.read(offset - 0x10, peek);
    if (offset >= 0x400 && offset < 0x420) {
      const i = offset - 0x400;
      const p = exc.irqPriority;
      return (p[i]! | (p[i + 1]! << 8) | (p[i + 2]! << 16) | (p[i + 3]! << 24)) >>> 0;
    }
    switch (offset) {
      case 0x100:
      case 0x180:
        return exc.enabled >>> 0;
      case 0x200:
      case 0x280:
        return exc.pending >>> 0;
      case 0xd00:
        return CPUID;
      case 0xd04:
        return (
          ((exc.nmiPending ? ICSR_NMIPENDSET : 0) |
            (exc.pendSvPending ? ICSR_PENDSVSET : 0) |
            (exc.sysTickPending ? ICSR_PENDSTSET : 0) |
            (exc.irqPending ? ICSR_ISRPENDING : 0) |
            (exc.highestPending() << 12) |
            this.host.ipsr()) >>>
          0
        );
      case 0xd08:
        return this.vtor;
      case 0xd0c:
        return 0xfa050000; // VECTKEYSTAT; little-endian; no reset requested
      case 0xd10:
        return (
          (this.sleepOnExit ? SCR_SLEEPONEXIT : 0) |
          (this.sleepDeep ? SCR_SLEEPDEEP : 0) |
          (exc.sevOnPend ? SCR_SEVONPEND : 0)
        );
      case 0xd14:
        return CCR_VALUE;
      case 0xd1c:
        return (exc.svcPriority << 24) >>> 0;
      case 0xd20:
        return ((exc.sysTickPriority << 24) | (exc.pendSvPriority << 16)) >>> 0;
      default:
        return 0;
    }
  }

  write(offset: number, value: number, size: AccessSize): void {
    if (size !== 4 || (offset & 3) !== 0) throw new BusError(SCS_BASE + offset, true, size);
    const exc = this.exc;
    const v = value >>> 0;
    if (offset >= 0x10 && offset < 0x20) {
      this.sysTick.write(offset - 0x10, v);
      return;
    }
    if (offset >= 0x400 && offset < 0x420) {
      const i = offset - 0x400;
      for (let k = 0; k < 4; k++) exc.irqPriority[i + k] = (v >>> (8 * k)) & PRIORITY_MASK;
      exc.onChange();
      return;
    }
    switch (offset) {
      case 0x100:
        exc.setEnabled(v);
        break;
      case 0x180:
        exc.clearEnabled(v);
        break;
      case 0x200:
        exc.setPending(v);
        break;
      case 0x280:
        exc.clearPending(v);
        break;
      case 0xd04:
        if (v & ICSR_NMIPENDSET) exc.pendSystem(Exc.NMI);
        if (v & ICSR_PENDSVSET) exc.pendSystem(Exc.PENDSV);
        else if (v & ICSR_PENDSVCLR) exc.pendSvPending = false;
        if (v & ICSR_PENDSTSET) exc.pendSystem(Exc.SYSTICK);
        else if (v & ICSR_PENDSTCLR) exc.sysTickPending = false;
        break;
      case 0xd08:
        this.vtor = (v & 0xffffff80) >>> 0; // TBLOFF is bits [31:7]
        break;
      case 0xd0c:
        // Writes without the key are ignored (§B3.2.6).
        if (v >>> 16 === AIRCR_VECTKEY && (v & AIRCR_SYSRESETREQ) !== 0) this.host.requestReset();
        break;
      case 0xd10:
        this.sleepOnExit = (v & SCR_SLEEPONEXIT) !== 0;
        this.sleepDeep = (v & SCR_SLEEPDEEP) !== 0;
        exc.sevOnPend = (v & SCR_SEVONPEND) !== 0;
        break;
      case 0xd1c:
        exc.svcPriority = (v >>> 24) & PRIORITY_MASK;
        exc.onChange();
        break;
      case 0xd20:
        exc.sysTickPriority = (v >>> 24) & PRIORITY_MASK;
        exc.pendSvPriority = (v >>> 16) & PRIORITY_MASK;
        exc.onChange();
        break;
      default:
        break;
    }
  }
}
