/**
 * serialport is an optional dependency (its native binding is of no use to
 * a browser or driver-only project): it is loaded on first use, and a
 * missing install is one error that says how to add it.
 */
import type * as SerialportModule from 'serialport';
import { SerialportMissingError } from './errors.ts';

let loading: Promise<typeof SerialportModule> | undefined;

/** The serialport module, imported once; rejects with SerialportMissingError when it is not installed. */
export function loadSerialport(): Promise<typeof SerialportModule> {
  loading ??= import('serialport').catch((error: unknown) => {
    loading = undefined;
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      throw new SerialportMissingError(error);
    throw error;
  });
  return loading;
}
