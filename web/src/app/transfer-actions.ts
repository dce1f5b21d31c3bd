/**
 * The transfer panel's operations on DMA1 channel 1 and USART1, programmed
 * through the session from the chip description. One operation runs at a
 * time and uses the start of the arena as its buffer; the board's own
 * checks (arena bounds, DMAMUX request, peripheral address) stand behind
 * every start. Completion comes from the board's DMA and USART events,
 * never from polling.
 */

import type { BoardNotification, DmaEvent, UsartEvent } from '../../../driver/board/index.ts';
import { fieldMask, STM32G071 } from '../../../driver/chip/index.ts';
import type { BatchOp } from '../../../driver/protocol/index.ts';
import { DriverError } from '../../../driver/transport/errors.ts';
import type { LogKind } from '../ui/event-log.ts';
import type { TransferActions, TransferProgress } from '../ui/transfer-panel.ts';
import type { ConsoleSession } from './session.ts';

/** The DMA reported a transfer error (TEIF) and cleared EN. */
export class DmaTransferFailedError extends DriverError {
  override name = 'DmaTransferFailedError';
}

const chip = STM32G071;
const ch = chip.dma.channels[0]!;
const usart = chip.usart1;
const ccr = (...names: string[]) => names.reduce((m, n) => m | fieldMask(ch.ccr, n), 0) >>> 0;
const CCR_TX = ccr('MINC', 'DIR', 'TCIE', 'TEIE', 'EN');
const CCR_RX = ccr('MINC', 'TCIE', 'TEIE', 'EN');
const CCR_RING = ccr('MINC', 'CIRC', 'HTIE', 'TCIE', 'TEIE', 'EN');
const CCR_EN = fieldMask(ch.ccr, 'EN');
const CR3_DMAT = fieldMask(usart.cr3, 'DMAT');
const CR3_DMAR = fieldMask(usart.cr3, 'DMAR');
const CR3_EIE = fieldMask(usart.cr3, 'EIE');
const CR1_IDLEIE = fieldMask(usart.cr1, 'IDLEIE');
const CR1_ON = (fieldMask(usart.cr1, 'UE') | fieldMask(usart.cr1, 'TE') | fieldMask(usart.cr1, 'RE')) >>> 0;
/** Every clear bit of USART1_ICR the console uses: PE, FE, NE, ORE, IDLE, TC. */
const ICR_ALL = 0b0101_1111;
const IFCR_CH1 = 0xf << ch.flagShift;
/** Chunk sent per DMA start: small enough that the progress bar moves smoothly at 115200 Bd. */
const WRITE_CHUNK = 256;
const LINE_BAUD = 115_200;

type Log = (kind: LogKind, message: string) => void;

export function createTransferActions(session: ConsoleSession, log: Log): TransferActions {
  let usartReady: Promise<void> | undefined;
  const { arenaBase, arenaSize, maxRequestPayload, maxReplyPayload } = session.hello;
  const memReadMax = maxReplyPayload - 8;
  const writeChunk = Math.min(WRITE_CHUNK, maxRequestPayload - 4, arenaSize);

  /** USART1 at 115200 8N1 with error interrupts, configured once per session. */
  function ensureUsart(): Promise<void> {
    usartReady ??= session
      .batch([
        { op: 'write', address: ch.ccr.address, value: 0 },
        { op: 'write', address: usart.cr1.address, value: 0 },
        {
          op: 'write',
          address: usart.brr.address,
          value: Math.round(session.hello.usart1ClockHz / LINE_BAUD),
        },
        { op: 'write', address: usart.cr2.address, value: 0 },
        { op: 'write', address: usart.cr3.address, value: CR3_EIE },
        { op: 'write', address: usart.cr1.address, value: CR1_ON },
      ])
      .then(() => undefined)
      .catch((e: unknown) => {
        usartReady = undefined;
        throw e;
      });
    return usartReady;
  }

  /** The channel's setup for one start, ending with the write that sets EN. */
  function start(direction: 'tx' | 'rx', length: number, ccrValue: number): BatchOp[] {
    const tx = direction === 'tx';
    return [
      { op: 'write', address: ch.ccr.address, value: 0 },
      { op: 'write', address: chip.dma.ifcr.address, value: IFCR_CH1 },
      { op: 'write', address: ch.mux.address, value: tx ? usart.dmaRequest.tx : usart.dmaRequest.rx },
      { op: 'write', address: ch.cpar.address, value: tx ? usart.tdr.address : usart.rdr.address },
      { op: 'write', address: ch.cmar.address, value: arenaBase },
      { op: 'write', address: ch.cndtr.address, value: length },
      {
        op: 'masked-write',
        address: usart.cr3.address,
        mask: CR3_DMAT | CR3_DMAR,
        value: tx ? CR3_DMAT : CR3_DMAR,
      },
      { op: 'write', address: ch.ccr.address, value: ccrValue },
    ];
  }

  /** Disables the channel and returns CNDTR as it stopped. */
  async function halt(extra: BatchOp[] = []): Promise<number> {
    const [cndtr] = await session.batch([
      { op: 'masked-write', address: ch.ccr.address, mask: CCR_EN, value: 0 },
      { op: 'read', address: ch.cndtr.address },
      ...extra,
    ]);
    return cndtr ?? 0;
  }

  async function readArena(length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += memReadMax) {
      out.set(await session.memRead(arenaBase + at, Math.min(memReadMax, length - at)), at);
    }
    return out;
  }

  return {
    async write(bytes: Uint8Array, onProgress: (p: TransferProgress) => void, signal: AbortSignal) {
      await ensureUsart();
      log('transfer', `DMA write of ${bytes.length} bytes started`);
      let done = 0;
      while (done < bytes.length) {
        const chunk = bytes.subarray(done, done + writeChunk);
        await session.memWrite(arenaBase, chunk);
        const events = await startAndListen(session, start('tx', chunk.length, CCR_TX), isChannel1);
        try {
          expectNoError(await events.next(signal));
        } catch (e) {
          const left = await halt();
          done += chunk.length - left;
          onProgress({ done, total: bytes.length });
          log('transfer', `DMA write stopped after ${done} of ${bytes.length} bytes`);
          throw e;
        } finally {
          events.close();
        }
        done += chunk.length;
        onProgress({ done, total: bytes.length });
      }
      log('transfer', `DMA write of ${bytes.length} bytes finished`);
      return done;
    },

    async readExact(count: number, signal: AbortSignal) {
      checkLength(count, arenaSize);
      await ensureUsart();
      await session.batch([{ op: 'write', address: usart.icr.address, value: ICR_ALL }]);
      const events = await startAndListen(session, start('rx', count, CCR_RX), isChannel1);
      log('transfer', `DMA read of ${count} bytes started`);
      try {
        expectNoError(await events.next(signal));
      } catch (e) {
        const got = count - (await halt());
        log('transfer', `DMA read stopped after ${got} of ${count} bytes`);
        throw e;
      } finally {
        events.close();
      }
      log('transfer', `DMA read of ${count} bytes finished`);
      return readArena(count);
    },

    async readUntilIdle(maxBytes: number, signal: AbortSignal) {
      checkLength(maxBytes, arenaSize);
      await ensureUsart();
      await session.batch([
        { op: 'write', address: usart.icr.address, value: ICR_ALL },
        { op: 'masked-write', address: usart.cr1.address, mask: CR1_IDLEIE, value: CR1_IDLEIE },
      ]);
      const events = await startAndListen(
        session,
        start('rx', maxBytes, CCR_RX),
        (n): n is DmaEvent | UsartEvent => isChannel1(n) || isIdle(n),
      );
      log('transfer', `DMA read until idle started (up to ${maxBytes} bytes)`);
      const stopIdle: BatchOp[] = [
        { op: 'masked-write', address: usart.cr1.address, mask: CR1_IDLEIE, value: 0 },
      ];
      let left: number;
      try {
        expectNoError(await events.next(signal));
      } finally {
        events.close();
        left = await halt(stopIdle);
      }
      const got = maxBytes - left;
      log('transfer', `line idle after ${got} bytes`);
      return readArena(got);
    },

    async monitor(size: number, onData: (bytes: Uint8Array) => void, signal: AbortSignal) {
      if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
        throw new RangeError('the ring size must be an even number of bytes, at least 2');
      }
      checkLength(size, arenaSize);
      await ensureUsart();
      await session.batch([{ op: 'write', address: usart.icr.address, value: ICR_ALL }]);
      const half = size / 2;
      const halves = await startAndListen(session, start('rx', size, CCR_RING), isChannel1);
      log('transfer', `circular reception started in a ${size}-byte ring`);
      try {
        for (;;) {
          const event = await halves.next(signal);
          expectNoError(event);
          // HT: the first half is full; TC: the second one is (and the DMA wrapped around).
          const second = event.kind === 'dma' && event.tc;
          const data = await session.memRead(arenaBase + (second ? half : 0), half);
          onData(data);
        }
      } finally {
        halves.close();
        await halt();
        log('transfer', 'circular reception stopped');
      }
    },
  };
}

function isChannel1(n: BoardNotification): n is DmaEvent {
  return n.kind === 'dma' && n.channel === ch.channel;
}

function isIdle(n: BoardNotification): n is UsartEvent {
  return n.kind === 'usart' && n.idle;
}

function expectNoError(event: DmaEvent | UsartEvent): void {
  if (event.kind === 'dma' && event.te) {
    throw new DmaTransferFailedError(
      `DMA1 channel ${event.channel} stopped with a transfer error (TEIF) with ${event.cndtr} item(s) left`,
    );
  }
}

function checkLength(n: number, arenaSize: number): void {
  if (!Number.isInteger(n) || n < 1 || n > Math.min(arenaSize, 0xffff)) {
    throw new RangeError(`the length must be between 1 and ${Math.min(arenaSize, 0xffff)} bytes`);
  }
}

/**
 * Starts the channel with `startOps` and returns the events that follow.
 * Listening begins before the start is sent, but only events after its
 * reply count: the board sends the events a request raises after that
 * request's reply, so anything earlier belongs to a previous operation.
 */
async function startAndListen<E extends DmaEvent | UsartEvent>(
  session: ConsoleSession,
  startOps: readonly BatchOp[],
  match: (n: BoardNotification) => n is E,
): Promise<EventStream<E>> {
  const stream = eventStream(session, match);
  try {
    await session.batch(startOps);
  } catch (e) {
    stream.close();
    throw e;
  }
  stream.arm();
  return stream;
}

interface EventStream<E> {
  /** Drops what arrived so far and counts only later events. */
  arm(): void;
  next(signal: AbortSignal): Promise<E>;
  close(): void;
}

/** Matching events queued as they arrive, taken one at a time; a reset or closure ends it. */
function eventStream<E extends DmaEvent | UsartEvent>(
  session: ConsoleSession,
  match: (n: BoardNotification) => n is E,
): EventStream<E> {
  let queue: E[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = session.subscribe((n) => {
    if (match(n)) queue.push(n);
    else if (n.kind === 'reset' || n.kind === 'closed') failure = n.error;
    else return;
    wake?.();
  });
  return {
    arm() {
      queue = [];
    },
    async next(signal) {
      for (;;) {
        const event = queue.shift();
        if (event) return event;
        if (failure) throw failure;
        signal.throwIfAborted();
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          };
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
    },
    close: unsubscribe,
  };
}
