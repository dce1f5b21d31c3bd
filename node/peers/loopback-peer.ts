/**
 * The board as its own peer, through a PC4–PC5 jumper (or the virtual
 * board wired in loopback): what USART1 sends, it receives. Sending goes
 * out through the transmit half of a split Serial1 (DMA1 channel 1) and
 * listening comes in through the receive half (DMA1 channel 2), so the
 * half the caller is not using is lent to the peer.
 */
import type { SerialRx, SerialTx } from '../../driver/api/index.ts';
import { TransferAbortedError, TransferTimeoutError } from '../../driver/api/index.ts';
import type { Board } from '../../driver/board/board.ts';
import {
  DEFAULT_LISTEN_TIMEOUT_MS,
  type Listening,
  type ListenOptions,
  PeerTimeoutError,
  type UsartPeer,
} from './peer.ts';

export interface LentHalves {
  tx?: SerialTx;
  rx?: SerialRx;
}

export class LoopbackPeer implements UsartPeer {
  readonly kind = 'loopback';
  readonly description = 'USART1 itself (TX wired to RX)';
  private tx: SerialTx | undefined;
  private rx: SerialRx | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly board: Board,
    halves: LentHalves,
  ) {
    this.tx = halves.tx;
    this.rx = halves.rx;
  }

  /** The halves lent to the peer, back (current owners), once what it started has ended. */
  async giveBack(): Promise<LentHalves> {
    await this.busy.catch(() => {});
    const halves: LentHalves = {
      ...(this.tx !== undefined && { tx: this.tx }),
      ...(this.rx !== undefined && { rx: this.rx }),
    };
    this.tx = undefined;
    this.rx = undefined;
    return halves;
  }

  async send(bytes: Uint8Array): Promise<void> {
    const tx = this.tx;
    if (!tx) {
      throw new Error(
        "the loopback peer sends through the board's own TX: lend it the SerialTx of serial.split()",
      );
    }
    if (bytes.length === 0) return;
    const work = (async () => {
      using buffer = this.board.alloc(bytes.length, { align: 1 });
      await buffer.write(bytes);
      const { serial, buffer: back } = await tx.writeAll(buffer).wait();
      this.tx = serial;
      back.free();
    })();
    this.busy = work;
    await work;
  }

  async listen(count: number, options: ListenOptions = {}): Promise<Listening> {
    const rx = this.rx;
    if (!rx) {
      throw new Error(
        "the loopback peer listens through the board's own RX: lend it the SerialRx of serial.split()",
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_LISTEN_TIMEOUT_MS;
    const buffer = this.board.alloc(count, { align: 1 });
    const transfer = rx.readExact(buffer);
    await transfer.started;
    // wait() and stop() both consume the Transfer: cancel through wait()'s
    // signal, and let the one path that owns the transfer stop it.
    const abort = new AbortController();
    const received = (async () => {
      try {
        const { serial, buffer: back } = await transfer.wait({ timeoutMs, signal: abort.signal });
        this.rx = serial;
        const bytes = await back.read();
        back.free();
        return { bytes };
      } catch (error) {
        if (!(error instanceof TransferTimeoutError || error instanceof TransferAbortedError)) throw error;
        const { serial, buffer: back, transferred } = await transfer.stop();
        this.rx = serial;
        back.free();
        if (abort.signal.aborted) throw new Error('listening was cancelled');
        throw new PeerTimeoutError(this.description, transferred, count, timeoutMs);
      }
    })();
    received.catch(() => {});
    this.busy = received;
    return {
      received,
      cancel: async () => {
        abort.abort();
        await received.catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await this.busy.catch(() => {});
  }
}
