/** Board events as typed objects with named flags. */

import type { DeviceResetError, LinkClosedError } from '../link/errors.ts';
import { type BoardEvent, DmaEventFlag, type FirmwareVersion, UsartEventFlag } from '../protocol/index.ts';

export interface DmaEvent {
  kind: 'dma';
  counter: number;
  channel: number;
  /** Transfer complete. */
  tc: boolean;
  /** Half transfer. */
  ht: boolean;
  /** Transfer error: the hardware has already cleared CCR.EN. */
  te: boolean;
  flags: number;
  cndtr: number;
  ccr: number;
  /** HT and TC completions since the channel was last enabled (mod 2^16), dropped events included. */
  completions: number;
  /** Which start of the channel the event belongs to (its count of EN 0 → 1 writes, mod 2^16). */
  starts: number;
}

export interface UsartEvent {
  kind: 'usart';
  counter: number;
  pe: boolean;
  fe: boolean;
  ne: boolean;
  ore: boolean;
  idle: boolean;
  /** The last bit of the last frame has left the wire. */
  tc: boolean;
  flags: number;
  isr: number;
  cndtr1: number;
  cndtr2: number;
  /**
   * Which start of DMA1 channel 1 and of channel 2 were running when the
   * event was raised (their counts of EN 0 → 1 writes, mod 2^16): the
   * transfers it belongs to. Absent from firmware before 2.4.
   */
  starts1?: number;
  starts2?: number;
}

/**
 * The start of DMA1 channel `channel` (1 or 2) a USART event names, or
 * undefined for an event of firmware before 2.4, which names none.
 */
export function usartEventStart(e: UsartEvent, channel: number): number | undefined {
  return channel === 1 ? e.starts1 : channel === 2 ? e.starts2 : undefined;
}

export interface BootEvent {
  kind: 'boot';
  bootEpoch: number;
  firmwareVersion: FirmwareVersion;
}

export type BoardNotification =
  | DmaEvent
  | UsartEvent
  | BootEvent
  /** Events were dropped: re-read DMA1_ISR, CNDTR, USART1_ISR before relying on state. */
  | {
      kind: 'events-lost';
      /** How many, from the gap in event counters; 0 when only suspected. */
      lost: number;
      /** A damaged frame may have been an event: nothing revealed a gap (yet). */
      suspected?: boolean;
    }
  | { kind: 'reset'; error: DeviceResetError }
  | { kind: 'closed'; error: LinkClosedError };

export function toNotification(e: BoardEvent): DmaEvent | UsartEvent | BootEvent {
  switch (e.event) {
    case 'dma':
      return {
        kind: 'dma',
        counter: e.counter,
        channel: e.channel,
        tc: (e.flags & DmaEventFlag.TC) !== 0,
        ht: (e.flags & DmaEventFlag.HT) !== 0,
        te: (e.flags & DmaEventFlag.TE) !== 0,
        flags: e.flags,
        cndtr: e.cndtr,
        ccr: e.ccr,
        completions: e.completions,
        starts: e.starts,
      };
    case 'usart':
      return {
        kind: 'usart',
        counter: e.counter,
        pe: (e.flags & UsartEventFlag.PE) !== 0,
        fe: (e.flags & UsartEventFlag.FE) !== 0,
        ne: (e.flags & UsartEventFlag.NE) !== 0,
        ore: (e.flags & UsartEventFlag.ORE) !== 0,
        idle: (e.flags & UsartEventFlag.IDLE) !== 0,
        tc: (e.flags & UsartEventFlag.TC) !== 0,
        flags: e.flags,
        isr: e.isr,
        cndtr1: e.cndtr1,
        cndtr2: e.cndtr2,
        ...(e.starts1 !== undefined && e.starts2 !== undefined
          ? { starts1: e.starts1, starts2: e.starts2 }
          : {}),
      };
    case 'boot':
      return { kind: 'boot', bootEpoch: e.bootEpoch, firmwareVersion: e.firmwareVersion };
  }
}
