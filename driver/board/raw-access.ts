/**
 * board.raw: register and memory access that bypasses the safe API. This
 * is the driver's `unsafe`: used carelessly it can
 *
 * - overwrite memory a DmaBuffer owns or a transfer's DMA reads or writes
 *   (the ledger refuses raw memory writes over memory it holds, and the
 *   board refuses those over a range a DMA is running on, but free memory is
 *   the caller's to scribble on);
 * - start a DMA channel over any arena memory, including memory the
 *   allocator would hand out next (after every raw write to a DMA channel's
 *   CCR the ledger reads the channel back from the board and keeps the range
 *   it runs on out of the allocator until the channel is seen off, or marks
 *   the whole arena in doubt when it cannot read it back);
 * - stop, reprogram or disable a channel a Transfer owns, reconfigure
 *   USART1 under a running transfer, or consume received bytes from RDR.
 *
 * The board's own checks (PROTOCOL.md §6) still apply to everything sent
 * here: no DMA start outside the arena, no write where a DMA is working.
 */

import { getField } from '../chip/decode.ts';
import type { DmaChannelDescription } from '../chip/types.ts';
import type { BatchOp } from '../protocol/index.ts';
import { type BatchBuilder, type BatchResult, parseChannelStatus, snapshotBatch } from './batch.ts';
import { copyHostBytes } from './host-bytes.ts';
import type { BoardInternals } from './internals.ts';
import { RawWriteRefusedError } from './ledger-errors.ts';
import type { OperationOptions } from './operation-options.ts';

/** What the raw path needs from the board. */
export interface RawHost extends BoardInternals {
  writeMemory(address: number, bytes: Uint8Array, options?: OperationOptions): Promise<void>;
}

const EN = 1;

export class RawAccess {
  readonly #host: RawHost;

  /** @internal made by the Board. */
  constructor(host: RawHost) {
    this.#host = host;
    Object.freeze(this);
  }

  /**
   * Writes `bytes` to arena memory at `address`. Refused with
   * RawWriteRefusedError over memory the ledger holds (owned by a DmaBuffer,
   * lent to a transfer, in doubt or leaked), and by the board over a range a
   * DMA is running on (BusyError). Free memory is yours: the next buffer
   * allocated there starts with whatever you wrote.
   */
  async writeMemory(address: number, data: Uint8Array, options: OperationOptions = {}): Promise<void> {
    // The ledger check and the request use one private copy of the caller's bytes.
    const bytes = copyHostBytes(data, 'board.raw.writeMemory()');
    const held = this.#host.ledger.overlapping(address, bytes.length);
    if (held.length > 0) throw new RawWriteRefusedError(address, bytes.length, held);
    await this.#host.writeMemory(address, bytes, options);
  }

  /**
   * Writes one register. A write to a DMA channel's CCR may start the
   * channel on any arena memory: the ledger reads the channel back and keeps
   * the range out of the allocator while it runs.
   */
  async writeRegister(address: number, value: number, options: OperationOptions = {}): Promise<void> {
    const op = snapshotBatch([{ op: 'write', address, value }])[0] as { address: number; value: number };
    await this.#watched([{ op: 'write', address: op.address, value: op.value }], () =>
      this.#host.writeRegister(op.address, op.value, options),
    );
  }

  /**
   * Runs register operations in order on the board, stopping at the first
   * failure, which is returned (not thrown) with its index (see Board's
   * batch rules: split into requests that fit, stop-at-first-failure held
   * across them). DMA channel starts are read back as for writeRegister.
   */
  async batch(
    ops: readonly BatchOp[] | ((builder: BatchBuilder) => unknown),
    options: OperationOptions = {},
  ): Promise<BatchResult> {
    // Read once: the channels to watch and the operations sent come from the same snapshot.
    const list = snapshotBatch(ops);
    return this.#watched(list, () => this.#host.batch(list, options));
  }

  /**
   * Runs `run`; for each DMA channel whose CCR `ops` write, reads the
   * channel's count first and the channel back afterwards, and tells the
   * ledger what runs there.
   */
  async #watched<T>(ops: readonly BatchOp[], run: () => Promise<T>): Promise<T> {
    const channels = this.#host.chip.dma.channels.filter((ch) =>
      ops.some((op) => (op.op === 'write' || op.op === 'masked-write') && op.address === ch.ccr.address),
    );
    if (channels.length === 0) return run();
    // CNDTR cannot change while a channel is enabled (PROTOCOL.md §6): the count a
    // start uses is the one before the ops, or one they write.
    const before = this.#host.batch((b) => {
      for (const ch of channels) b.read(ch.cndtr.address);
    });
    before.catch(() => {});
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await run() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const counts = await before.then(
      (r) => (r.failure ? undefined : r.values),
      () => undefined,
    );
    await this.#readBack(channels, ops, counts);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  async #readBack(
    channels: readonly DmaChannelDescription[],
    ops: readonly BatchOp[],
    countsBefore: readonly number[] | undefined,
  ): Promise<void> {
    const ledger = this.#host.ledger;
    let values: number[] | undefined;
    try {
      const r = await this.#host.batch((b) => {
        for (const ch of channels) b.status(ch.channel).read(ch.cmar.address);
      });
      if (!r.failure) values = r.values;
    } catch {
      // No answer: what runs on the channels is unknown (below).
    }
    channels.forEach((ch, i) => {
      if (values === undefined || countsBefore === undefined) {
        // What runs on the channel is unknown: nothing of the arena may be handed out until it is seen off.
        ledger.rawStart(ch.channel, { address: ledger.base, length: ledger.size });
        return;
      }
      const state = parseChannelStatus(values, i * 5);
      const cmar = values[i * 5 + 4]!;
      const running =
        (state.ccr & EN) !== 0 && (state.cndtr !== 0 || getField(ch.ccr, 'CIRC', state.ccr) !== 0);
      if (!running) {
        ledger.channelIdle(ch.channel);
        return;
      }
      // The largest count the start may have used: the ops' order is not followed.
      let count = Math.max(countsBefore[i]! & 0xffff, state.cndtr);
      for (const op of ops) {
        if ((op.op === 'write' || op.op === 'masked-write') && op.address === ch.cndtr.address) {
          // A masked write keeps bits of the count before it: any of them may be set.
          const written = op.op === 'write' ? op.value : countsBefore[i]! | op.value;
          count = Math.max(count, written & 0xffff);
        }
      }
      const size = 1 << getField(ch.ccr, 'MSIZE', state.ccr);
      const minc = getField(ch.ccr, 'MINC', state.ccr) !== 0;
      ledger.rawStart(ch.channel, { address: cmar, length: minc ? count * size : size });
    });
  }
}
