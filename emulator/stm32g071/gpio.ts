/**
 * GPIO port (RM0444, GPIO chapter): mode, output type, speed, pull, alternate function,
 * data and lock registers. Pins have no electrical model beyond this: an
 * output pin reads back its ODR bit, an input or alternate-function pin reads
 * the level the board drives on it (`setInput`), or its pull when nothing
 * drives it, floating reads as 0.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { bit, busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const GPIO = {
  MODER: 0x00,
  OTYPER: 0x04,
  OSPEEDR: 0x08,
  PUPDR: 0x0c,
  IDR: 0x10,
  ODR: 0x14,
  BSRR: 0x18,
  LCKR: 0x1c,
  AFRL: 0x20,
  AFRH: 0x24,
  BRR: 0x28,
} as const;

export type GpioPort = 'A' | 'B' | 'C';

export const GPIO_BASES: Record<GpioPort, number> = { A: 0x5000_0000, B: 0x5000_0400, C: 0x5000_0800 };

/** Reset values (SVD; RM0444 GPIO register descriptions): port A differs because PA13/PA14 are SWD out of reset. */
export function gpioReset(port: GpioPort): { moder: number; ospeedr: number; pupdr: number } {
  return port === 'A'
    ? { moder: 0xebff_ffff, ospeedr: 0x0c00_0000, pupdr: 0x2400_0000 }
    : { moder: 0xffff_ffff, ospeedr: 0, pupdr: 0 };
}

/** The registers a lock freezes (RM0444 GPIO, "I/O port locking"). */
const LOCKABLE = [GPIO.MODER, GPIO.OTYPER, GPIO.OSPEEDR, GPIO.PUPDR, GPIO.AFRL, GPIO.AFRH] as const;

export class Gpio implements MemoryMappedDevice {
  readonly name: string;
  readonly base: number;
  /** Writes made while the port's clock (RCC_IOPENR) was off; they are lost, as on the chip. */
  writesWhileUnclocked = 0;
  private regs = new Map<number, number>();
  private driven = 0; // pins the board drives
  private drivenLevel = 0;
  private lockKeyState = 0; // progress through the LCKR write sequence
  private lockValue = 0;
  private locked = false;
  private clockEnabled = true;
  private readonly outputListeners: ((odr: number) => void)[] = [];
  private readonly modeListeners: ((moder: number) => void)[] = [];

  constructor(
    readonly port: GpioPort,
    options: { clockEnabled?: boolean } = {},
  ) {
    this.name = `GPIO${port}`;
    this.base = GPIO_BASES[port];
    this.clockEnabled = options.clockEnabled ?? true;
    this.reset();
  }

  reset(): void {
    const r = gpioReset(this.port);
    this.regs = new Map<number, number>([
      [GPIO.MODER, r.moder],
      [GPIO.OTYPER, 0],
      [GPIO.OSPEEDR, r.ospeedr],
      [GPIO.PUPDR, r.pupdr],
      [GPIO.ODR, 0],
      [GPIO.LCKR, 0],
      [GPIO.AFRL, 0],
      [GPIO.AFRH, 0],
    ]);
    this.locked = false;
    this.lockKeyState = 0;
  }

  setClockEnabled(on: boolean): void {
    this.clockEnabled = on;
  }

  /** The board drives `pin` to `level`, or releases it with `undefined`. */
  setInput(pin: number, level: boolean | undefined): void {
    const m = 1 << pin;
    if (level === undefined) this.driven &= ~m;
    else {
      this.driven |= m;
      this.drivenLevel = level ? this.drivenLevel | m : this.drivenLevel & ~m;
    }
  }

  /** Called with the new ODR whenever it changes (an LED, a scope). */
  onOutputChange(listener: (odr: number) => void): void {
    this.outputListeners.push(listener);
  }

  /** Called with the new MODER whenever it changes (an LED lit only while its pin is an output). */
  onModeChange(listener: (moder: number) => void): void {
    this.modeListeners.push(listener);
  }

  get odr(): number {
    return this.reg(GPIO.ODR);
  }

  /** Mode of a pin: 0 input, 1 output, 2 alternate function, 3 analog. */
  mode(pin: number): number {
    return (this.reg(GPIO.MODER) >>> (2 * pin)) & 3;
  }

  /** Alternate function number of a pin. */
  alternate(pin: number): number {
    const reg = pin < 8 ? GPIO.AFRL : GPIO.AFRH;
    return (this.reg(reg) >>> (4 * (pin & 7))) & 0xf;
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(this.base, offset, false, size);
    const word = offset & ~3;
    switch (word) {
      case GPIO.IDR:
        return laneRead(this.idr(), offset, size);
      case GPIO.BSRR:
      case GPIO.BRR:
        return 0; // write-only
      case GPIO.LCKR: {
        // The second read of the lock sequence (RM0444 GPIO, "I/O port locking") latches LCKK.
        const value = (this.locked ? 1 << 16 : 0) | this.reg(GPIO.LCKR);
        return laneRead(value, offset, size);
      }
      default:
        if (!this.regs.has(word)) throw busError(this.base, offset, false, size);
        return laneRead(this.reg(word), offset, size);
    }
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(this.base, offset, true, size);
    const word = offset & ~3;
    if (!this.regs.has(word) && word !== GPIO.BSRR && word !== GPIO.BRR && word !== GPIO.IDR)
      throw busError(this.base, offset, true, size);
    if (!this.clockEnabled) {
      this.writesWhileUnclocked++;
      return;
    }
    switch (word) {
      case GPIO.IDR:
        return; // read-only
      case GPIO.BSRR: {
        const v = laneWrite(0, offset, value, size);
        // RM0444 GPIOx_BSRR: if both BSx and BRx are set, BSx wins.
        this.setOdr((this.odr & ~(v >>> 16)) | (v & 0xffff));
        return;
      }
      case GPIO.BRR:
        this.setOdr(this.odr & ~laneWrite(0, offset, value, size) & 0xffff);
        return;
      case GPIO.ODR:
        this.setOdr(laneWrite(this.odr, offset, value, size) & 0xffff);
        return;
      case GPIO.LCKR:
        this.writeLckr(laneWrite(this.reg(GPIO.LCKR), offset, value, size));
        return;
      default: {
        const old = this.reg(word);
        let v = laneWrite(old, offset, value, size);
        if (word === GPIO.OTYPER) v &= 0xffff;
        if (this.locked && (LOCKABLE as readonly number[]).includes(word)) v = this.applyLock(word, old, v);
        this.regs.set(word, v >>> 0);
        if (word === GPIO.MODER && v >>> 0 !== old >>> 0) for (const l of this.modeListeners) l(v >>> 0);
      }
    }
  }

  private reg(offset: number): number {
    return this.regs.get(offset) ?? 0;
  }

  private setOdr(v: number): void {
    if (v === this.odr) return;
    this.regs.set(GPIO.ODR, v);
    for (const l of this.outputListeners) l(v);
  }

  private idr(): number {
    const moder = this.reg(GPIO.MODER);
    const pupdr = this.reg(GPIO.PUPDR);
    let idr = 0;
    for (let pin = 0; pin < 16; pin++) {
      const mode = (moder >>> (2 * pin)) & 3;
      let level: boolean;
      if (mode === 3)
        level = false; // analog: the Schmitt trigger is off
      else if (mode === 1) level = bit(this.odr, pin);
      else if (bit(this.driven, pin)) level = bit(this.drivenLevel, pin);
      else level = ((pupdr >>> (2 * pin)) & 3) === 1;
      if (level) idr |= 1 << pin;
    }
    return idr;
  }

  /** Keeps the locked pins' fields of a lockable register at their old value. */
  private applyLock(word: number, old: number, v: number): number {
    const pins = this.lockValue & 0xffff;
    const bitsPerPin = word === GPIO.OTYPER ? 1 : word === GPIO.AFRL || word === GPIO.AFRH ? 4 : 2;
    let keep = 0;
    for (let pin = 0; pin < 16; pin++) {
      if (!bit(pins, pin)) continue;
      if (word === GPIO.AFRL && pin >= 8) continue;
      if (word === GPIO.AFRH && pin < 8) continue;
      const slot = word === GPIO.AFRL || word === GPIO.AFRH ? pin & 7 : pin;
      keep |= ((1 << bitsPerPin) - 1) << (slot * bitsPerPin);
    }
    return ((old & keep) | (v & ~keep)) >>> 0;
  }

  /** RM0444 GPIO "I/O port locking": write LCKK=1, LCKK=0, LCKK=1 with the same LCK[15:0], then read; the port locks until reset. */
  private writeLckr(v: number): void {
    if (this.locked) return;
    const lckk = bit(v, 16);
    const pins = v & 0xffff;
    const expected = this.lockKeyState !== 1;
    if (lckk === expected && (this.lockKeyState === 0 || pins === (this.lockValue & 0xffff))) {
      this.lockKeyState++;
      this.lockValue = pins;
    } else {
      this.lockKeyState = lckk ? 1 : 0;
      this.lockValue = pins;
    }
    this.regs.set(GPIO.LCKR, pins);
    if (this.lockKeyState === 3) {
      this.locked = true;
      this.lockKeyState = 0;
    }
  }
}
