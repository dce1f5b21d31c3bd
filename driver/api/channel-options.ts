/**
 * Options objects belong to the caller, who may change them (or answer
 * through getters) at any time: each operation reads every option exactly
 * once, at the API boundary, into a frozen private copy, checks the copy,
 * and never touches the caller's object again.
 */

import type { ChannelOptions, DataSize, Priority } from './channel-engine.ts';

/** Channel options as an operation keeps them: read once, checked, frozen. */
export interface SettledChannelOptions {
  readonly dataSize: DataSize;
  readonly priority: Priority;
}

const DATA_SIZES: readonly unknown[] = [8, 16, 32];
const PRIORITIES: readonly unknown[] = ['low', 'medium', 'high', 'very-high'];

/** Reads `options` (or undefined) once; throws TypeError/RangeError for anything malformed. */
export function optionsRecord(options: unknown, by: string): Readonly<Record<string, unknown>> | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${by} takes an options object; got ${options === null ? 'null' : typeof options}`);
  }
  return options as Readonly<Record<string, unknown>>;
}

/** A frozen copy of the channel options in `options` (each read once), with defaults. */
export function settleChannelOptions(options: unknown, by: string): SettledChannelOptions {
  const o = optionsRecord(options, by);
  const dataSize = o?.dataSize ?? 8;
  const priority = o?.priority ?? 'medium';
  return freezeChannelOptions(dataSize, priority, by);
}

/** Checks values already read once from a caller's object. */
export function freezeChannelOptions(
  dataSize: unknown,
  priority: unknown,
  by: string,
): SettledChannelOptions {
  if (!DATA_SIZES.includes(dataSize)) {
    throw new RangeError(`${by}: dataSize is 8, 16 or 32; got ${String(dataSize)}`);
  }
  if (!PRIORITIES.includes(priority)) {
    throw new RangeError(
      `${by}: priority is 'low', 'medium', 'high' or 'very-high'; got ${String(priority)}`,
    );
  }
  return Object.freeze({ dataSize: dataSize as DataSize, priority: priority as Priority });
}

export type { ChannelOptions };
