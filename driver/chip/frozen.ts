/**
 * Chip descriptions the driver decides by (which register write starts a
 * DMA channel, where MSIZE sits in CCR) must not change under it: the
 * built-in ones are deep-frozen, and a board keeps a deep-frozen copy of any
 * other it is given, so nobody holding the caller's object can change what
 * the board reads.
 */

import type { ChipDescription } from './types.ts';

const frozenBuiltIns = new WeakSet<object>();

/** Freezes `value` and everything reachable from it; returns it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

/** @internal marks a chip description built into the driver (plain data, frozen here). */
export function builtInChip(chip: ChipDescription): ChipDescription {
  deepFreeze(chip);
  frozenBuiltIns.add(chip);
  return chip;
}

/**
 * The description a board decides by: a built-in one as it is, any other
 * copied (each property read once, plain data only: getters are read into
 * values, functions and proxies refused) and deep-frozen.
 */
export function privateChipCopy(chip: ChipDescription): ChipDescription {
  if (frozenBuiltIns.has(chip)) return chip;
  let copy: ChipDescription;
  try {
    copy = structuredClone(chip);
  } catch (e) {
    throw new TypeError(
      `a chip description is plain data (numbers, strings, arrays, objects): ${(e as Error).message}`,
    );
  }
  return deepFreeze(copy);
}
