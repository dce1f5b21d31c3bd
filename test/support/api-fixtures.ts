/**
 * Helpers for the safe-API tests on the virtual board: a target with
 * Serial1 taken, waits in virtual time, and small byte utilities.
 */

import { Serial1 } from '../../driver/api/index.ts';
import type { VirtualBoard } from '../../emulator/index.ts';
import { openVirtualTarget, type VirtualTarget } from './virtual-target.ts';
import { virtualTimers } from './virtual-timers.ts';

/** USART1's rate where the test is not about timing: 2 Mbaud keeps the suite fast. */
export const FAST_BAUD = 2_000_000;

export interface SerialTarget extends VirtualTarget {
  serial: Serial1;
  /** Warnings the API printed (a Transfer garbage-collected while running). */
  warnings: string[];
}

/** Opens the virtual board and takes Serial1 at `baudRate`. */
export async function openSerialTarget(
  options: { baudRate?: number; usart1?: 'peer' | 'loopback' } = {},
): Promise<SerialTarget> {
  const baudRate = options.baudRate ?? FAST_BAUD;
  const target = await openVirtualTarget({
    ...(options.usart1 ? { usart1: options.usart1 } : {}),
    peerBaudRate: baudRate,
  });
  const warnings: string[] = [];
  try {
    const serial = await Serial1.take(target.board, {
      baudRate,
      onWarning: (m) => warnings.push(m),
    });
    return { ...target, serial, warnings };
  } catch (e) {
    await target.dispose();
    throw e;
  }
}

/** Resolves after `ms` of the board's virtual time. */
export function sleepVirtual(vb: VirtualBoard, ms: number): Promise<void> {
  const timers = virtualTimers(vb);
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}

/** Virtual time now, in ns. */
export const nowNs = (vb: VirtualBoard): number => vb.chip.clock.nowNs;

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** `length` bytes of a simple, position-dependent pattern (never all equal). */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed * 13 + (i >> 8)) & 0xff;
  return out;
}

/** Bytes the peer has received so far. */
export function peerReceived(vb: VirtualBoard): Uint8Array {
  return Uint8Array.from(vb.peer.received().map((r) => r.byte));
}

/** True when [a, a + la) and [b, b + lb) share a byte. */
export function overlaps(a: number, la: number, b: number, lb: number): boolean {
  return a < b + lb && b < a + la;
}
