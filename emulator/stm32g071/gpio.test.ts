import { describe, expect, it } from 'vitest';
import { GPIO, Gpio } from './gpio.ts';

describe('GPIO', () => {
  it('has the SVD reset values, port A differing for SWD', () => {
    const a = new Gpio('A');
    const b = new Gpio('B');
    expect(a.read(GPIO.MODER, 4)).toBe(0xebff_ffff);
    expect(a.read(GPIO.PUPDR, 4)).toBe(0x2400_0000);
    expect(a.read(GPIO.OSPEEDR, 4)).toBe(0x0c00_0000);
    expect(b.read(GPIO.MODER, 4)).toBe(0xffff_ffff);
    expect(b.read(GPIO.PUPDR, 4)).toBe(0);
  });

  it('drives PA5 (LD4) through BSRR and BRR, BS winning over BR', () => {
    const a = new Gpio('A');
    const seen: number[] = [];
    a.onOutputChange((odr) => seen.push(odr));
    a.write(GPIO.MODER, (a.read(GPIO.MODER, 4) & ~(3 << 10)) | (1 << 10), 4);
    a.write(GPIO.BSRR, 1 << 5, 4);
    expect(a.read(GPIO.ODR, 4)).toBe(0x20);
    expect(a.read(GPIO.IDR, 4) & 0x20).toBe(0x20);
    a.write(GPIO.BSRR + 2, 1 << 5, 2); // BR5 through the upper half-word
    expect(a.odr).toBe(0);
    a.write(GPIO.BSRR, (1 << 5) | (1 << 21), 4);
    expect(a.odr).toBe(0x20);
    a.write(GPIO.BRR, 1 << 5, 4);
    expect(a.odr).toBe(0);
    expect(seen).toEqual([0x20, 0, 0x20, 0]);
  });

  it('reads driven inputs, pulls and analog pins', () => {
    const c = new Gpio('C');
    expect(c.read(GPIO.IDR, 4)).toBe(0); // all analog out of reset
    c.write(GPIO.MODER, 0xffff_ffff & ~(3 << 26), 4); // PC13 input
    c.setInput(13, true);
    expect(c.read(GPIO.IDR, 4)).toBe(1 << 13);
    c.setInput(13, undefined);
    expect(c.read(GPIO.IDR, 4)).toBe(0);
    c.write(GPIO.PUPDR, 1 << 26, 4);
    expect(c.read(GPIO.IDR, 4)).toBe(1 << 13);
  });

  it('stores alternate functions (PA2/PA3 AF1 for USART2)', () => {
    const a = new Gpio('A');
    a.write(GPIO.AFRL, (1 << 8) | (1 << 12), 4);
    expect(a.alternate(2)).toBe(1);
    expect(a.alternate(3)).toBe(1);
    a.write(GPIO.AFRH, 0xf << 4, 4);
    expect(a.alternate(9)).toBe(0xf);
  });

  it('locks configuration after the LCKR key sequence', () => {
    const b = new Gpio('B');
    const key = (1 << 16) | 1;
    b.write(GPIO.LCKR, key, 4);
    b.write(GPIO.LCKR, 1, 4);
    b.write(GPIO.LCKR, key, 4);
    b.read(GPIO.LCKR, 4);
    expect(b.read(GPIO.LCKR, 4) & (1 << 16)).not.toBe(0);
    b.write(GPIO.MODER, 0, 4);
    expect(b.read(GPIO.MODER, 4)).toBe(3); // pin 0 kept, others written
    b.reset();
    expect(b.read(GPIO.LCKR, 4)).toBe(0);
  });

  it('loses writes while its clock is off', () => {
    const a = new Gpio('A', { clockEnabled: false });
    a.write(GPIO.ODR, 1, 4);
    expect(a.odr).toBe(0);
    expect(a.writesWhileUnclocked).toBe(1);
    a.setClockEnabled(true);
    a.write(GPIO.ODR, 1, 4);
    expect(a.odr).toBe(1);
  });
});
