/**
 * Register values ↔ named fields, driven only by a `RegisterDescription`.
 */

import type { ChipDescription, FieldDescription, RegisterDescription } from './types.ts';

export interface DecodedField {
  readonly name: string;
  readonly value: number;
  readonly description: string;
  /** The value's name when the description gives one. */
  readonly meaning?: string;
}

/** Thrown when code names a field the description does not have: a bug in the caller. */
export class UnknownFieldError extends Error {
  override name = 'UnknownFieldError';
}

function mask(width: number): number {
  return width >= 32 ? 0xffff_ffff : (1 << width) - 1;
}

/** Every field of `register` in `value`, lowest bit first. */
export function decodeRegister(register: RegisterDescription, value: number): DecodedField[] {
  return [...register.fields]
    .sort((a, b) => a.offset - b.offset)
    .map((f) => {
      const v = ((value >>> f.offset) & mask(f.width)) >>> 0;
      const meaning = f.values?.[v];
      return meaning === undefined
        ? { name: f.name, value: v, description: f.description }
        : { name: f.name, value: v, description: f.description, meaning };
    });
}

/** `CCR1: EN=1 TCIE=1 DIR=1 MINC=1` — the non-zero fields, for logs and error messages. */
export function formatRegister(register: RegisterDescription, value: number): string {
  const set = decodeRegister(register, value).filter((f) => f.value !== 0);
  const hex = `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
  return `${register.name} = ${hex}${set.length ? ` (${set.map((f) => `${f.name}=${f.value}`).join(' ')})` : ''}`;
}

export function fieldOf(register: RegisterDescription, name: string): FieldDescription {
  const f = register.fields.find((x) => x.name === name);
  if (!f) throw new UnknownFieldError(`${register.name} has no field ${name}`);
  return f;
}

/** The mask of a field in its register, e.g. fieldMask(ccr, 'MSIZE') = 0xC00. */
export function fieldMask(register: RegisterDescription, name: string): number {
  const f = fieldOf(register, name);
  return (mask(f.width) << f.offset) >>> 0;
}

export function getField(register: RegisterDescription, name: string, value: number): number {
  const f = fieldOf(register, name);
  return ((value >>> f.offset) & mask(f.width)) >>> 0;
}

/** `value` with field `name` replaced by `fieldValue` (which must fit). */
export function setField(
  register: RegisterDescription,
  name: string,
  value: number,
  fieldValue: number,
): number {
  const f = fieldOf(register, name);
  if (!Number.isInteger(fieldValue) || fieldValue < 0 || fieldValue > mask(f.width)) {
    throw new RangeError(`${register.name}.${name} is ${f.width} bits wide; ${fieldValue} does not fit`);
  }
  const m = (mask(f.width) << f.offset) >>> 0;
  return ((value & ~m) | ((fieldValue << f.offset) & m)) >>> 0;
}

/** Every register of the description, for lookups by address. */
export function allRegisters(chip: ChipDescription): RegisterDescription[] {
  const u = chip.usart1;
  return [
    chip.dma.isr,
    chip.dma.ifcr,
    ...chip.dma.channels.flatMap((c) => [c.ccr, c.cndtr, c.cpar, c.cmar, c.mux]),
    u.cr1,
    u.cr2,
    u.cr3,
    u.brr,
    u.rqr,
    u.isr,
    u.icr,
    u.rdr,
    u.tdr,
    u.presc,
  ];
}

export function registerAt(chip: ChipDescription, address: number): RegisterDescription | undefined {
  return allRegisters(chip).find((r) => r.address === address);
}
