/**
 * The DMA operations of a serial port (Serial1, or its Tx and Rx halves).
 * Each moves the buffer and the serial object it was called on into the
 * operation, checks everything it can before the first byte is sent, and
 * starts the channel with one request.
 */

import { type DmaBuffer, lendBuffer } from '../board/dma-buffer.ts';
import type { OwnerToken } from '../board/ownership.ts';
import type { ChannelEngine, ChannelOptions, StartSpec } from './channel-engine.ts';
import { itemsFor } from './channel-engine.ts';
import { type CompletionRule, Transfer } from './transfer.ts';

/** What a serial object lends its DMA operations. */
export interface SerialSide<S> {
  readonly engine: ChannelEngine;
  readonly token: OwnerToken;
  /** A fresh owner of the same serial (the old object stays moved). */
  fresh(): S;
  warn(message: string): void;
}

/** Reception until idle: `transferred` is the number of bytes received. */
export type IdleTransfer<S> = Transfer<S>;

export function startTransfer<S>(
  side: SerialSide<S>,
  buffer: DmaBuffer,
  rule: CompletionRule,
  spec: Omit<StartSpec, 'memory'>,
): Transfer<S> {
  // Check everything before moving anything: a refusal here leaves both usable.
  side.token.check();
  // A serial from before board.recover() (or a reset) fails here, not after it moved the buffer.
  side.engine.assertUsable();
  side.engine.assertIdle();
  // The buffer's memory is checked and lent from its private state and the
  // board's ledger, never from its properties or methods (which a caller
  // could replace): the DMA goes where the ledger says.
  const loan = lendBuffer(buffer, rule.by, side.engine.lendTarget, (address, length) =>
    itemsFor(address, length, spec.options.dataSize ?? 8),
  );
  side.token.move(rule.by);
  const full: StartSpec = { ...spec, memory: { loan } };
  return new Transfer<S>(
    side.engine,
    full,
    loan,
    side.fresh(),
    rule,
    () => {
      side.token.restore();
      loan.restore();
    },
    (m) => side.warn(m),
  );
}

export function writeAll<S>(
  side: SerialSide<S>,
  buffer: DmaBuffer,
  options: ChannelOptions = {},
): Transfer<S> {
  return startTransfer(
    side,
    buffer,
    { by: 'writeAll()', waitForLineIdle: true },
    { direction: 'to-peripheral', options, usartTcEvent: true },
  );
}

export function readExact<S>(
  side: SerialSide<S>,
  buffer: DmaBuffer,
  options: ChannelOptions = {},
): Transfer<S> {
  return startTransfer(
    side,
    buffer,
    { by: 'readExact()', failOnUsartErrors: true },
    { direction: 'from-peripheral', options },
  );
}

export function readUntilIdle<S>(
  side: SerialSide<S>,
  buffer: DmaBuffer,
  options: ChannelOptions = {},
): IdleTransfer<S> {
  return startTransfer(
    side,
    buffer,
    { by: 'readUntilIdle()', completeOnIdle: true, failOnUsartErrors: true },
    { direction: 'from-peripheral', options, usartIdleEvent: true },
  );
}
