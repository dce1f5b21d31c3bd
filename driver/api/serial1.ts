/**
 * Serial1: the chapter's USART1 with its DMA channel, as a moved owner.
 *
 * `writeAll`, `readExact`, `readUntilIdle`, `readCircular` and
 * `streamWriter` move the Serial1 they are called on (and the buffer) into
 * the operation; any later use of those objects throws `MovedError` naming
 * the call. The operation hands back a fresh Serial1 when it ends.
 * `split()` moves it into a transmit half on DMA1 channel 1 and a receive
 * half on DMA1 channel 2, for full duplex; `Serial1.join()` puts them back.
 */

import type { Board } from '../board/board.ts';
import type { DmaBuffer } from '../board/dma-buffer.ts';
import type { Handle } from '../board/handles.ts';
import { OwnerToken } from '../board/ownership.ts';
import { type SerialConfig, UsartBytes, type WouldBlock } from '../primitives/usart-bytes.ts';
import { ChannelEngine, type ChannelOptions } from './channel-engine.ts';
import { CircularReception } from './circular-reception.ts';
import { readExact, readUntilIdle, type SerialSide, writeAll } from './serial-dma.ts';
import { StreamWriter, type StreamWriterOptions } from './stream-writer.ts';
import type { Transfer } from './transfer.ts';

export interface TakeSerialOptions extends SerialConfig {
  /** Where warnings go (a Transfer garbage-collected while running). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** What every owner of USART1 shares: the claim, the byte-level access, the channels. */
class Usart1Port {
  readonly bytes: UsartBytes;
  private rxEngine: ChannelEngine | undefined;

  constructor(
    readonly board: Board,
    readonly handle: Handle,
    readonly txEngine: ChannelEngine,
    readonly warn: (message: string) => void,
  ) {
    this.bytes = new UsartBytes(board, handle);
  }

  /** DMA1 channel 2, claimed the first time the port is split. */
  rxChannel(): ChannelEngine {
    if (!this.rxEngine) {
      const ch = this.board.chip.dma.channels[1];
      if (!ch) throw new Error(`${this.board.chip.name} exposes no second DMA channel for full duplex`);
      this.rxEngine = new ChannelEngine(
        this.board,
        ch,
        this.board.chip.usart1,
        this.board.claim('DMA1 channel 2'),
      );
    }
    return this.rxEngine;
  }
}

/** Any owner of USART1 a transfer can hand back. */
export type SerialOwner = Serial1 | SerialTx | SerialRx;

const SERIAL_HINT = 'use the Serial1 that wait(), stop() or close() returned';

export class Serial1 {
  /** @internal */
  readonly token = new OwnerToken('this Serial1', SERIAL_HINT);
  private readonly side: SerialSide<Serial1>;

  private constructor(private readonly port: Usart1Port) {
    this.side = {
      engine: port.txEngine,
      token: this.token,
      fresh: () => new Serial1(port),
      warn: port.warn,
    };
  }

  /**
   * Takes USART1 and DMA1 channel 1 (the chapter's `Serial1` owns its
   * `Dma1Channel1`) and configures 8N1 at `baudRate`. Once per board: a
   * second take throws AlreadyTakenError until board.recover().
   */
  static async take(board: Board, options: TakeSerialOptions): Promise<Serial1> {
    const usart = board.claim('Serial1 (USART1)');
    let channel: Handle | undefined;
    let engine: ChannelEngine | undefined;
    try {
      channel = board.claim('DMA1 channel 1');
      engine = new ChannelEngine(board, board.chip.dma.channels[0]!, board.chip.usart1, channel);
      const port = new Usart1Port(board, usart, engine, options.onWarning ?? ((m) => console.warn(m)));
      await port.bytes.configure(options);
      return new Serial1(port);
    } catch (e) {
      // Nothing was handed out: the next take() may try again.
      engine?.dispose();
      if (channel) board.unclaim('DMA1 channel 1', channel);
      board.unclaim('Serial1 (USART1)', usart);
      throw e;
    }
  }

  /** Puts the halves of a split() back together (moves both). */
  static join(tx: SerialTx, rx: SerialRx): Serial1 {
    if (tx.port !== rx.port) throw new Error('these halves come from different Serial1 objects');
    tx.token.check();
    rx.token.check();
    tx.token.move('Serial1.join()');
    rx.token.move('Serial1.join()');
    return new Serial1(tx.port);
  }

  /** One received byte, or `WouldBlock` (the chapter's blocking read, in `nb` style). */
  read(options: { timeoutUs?: number } = {}): Promise<number | WouldBlock> {
    this.token.check();
    return this.port.bytes.read(options);
  }

  /** Sends one byte, or `WouldBlock` when TDR stays full. */
  write(byte: number, options: { timeoutUs?: number } = {}): Promise<WouldBlock | undefined> {
    this.token.check();
    return this.port.bytes.write(byte, options);
  }

  /** Sends the whole buffer by DMA; complete when the last bit has left the wire. Moves this and `buffer`. */
  writeAll(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return writeAll(this.side, buffer, options);
  }

  /**
   * Fills the whole buffer by DMA. Moves this and `buffer`. Reception begins
   * when the transfer's `started` resolves (the board enabled the channel);
   * bytes that reach RX before then are discarded, so let a peer send only
   * after `await transfer.started`.
   */
  readExact(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return readExact(this.side, buffer, options);
  }

  /**
   * Receives until the line goes idle after data (or the buffer is full);
   * `wait()` or `stop()` give the length received as `transferred` (stop()).
   */
  readUntilIdle(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return readUntilIdle(this.side, buffer, options);
  }

  /** Circular reception: an async iterator of halves, with overrun detection. Moves this and `buffer`. */
  readCircular(buffer: DmaBuffer, options?: ChannelOptions): CircularReception<Serial1> {
    return new CircularReception(this.port.board, this.side, buffer, options);
  }

  /** A double-buffered writer for any amount of data. Moves this until `close()`. */
  streamWriter(options?: StreamWriterOptions): StreamWriter<Serial1> {
    return new StreamWriter(this.port.board, this.side, options);
  }

  /** Splits into a transmit half (DMA1 channel 1) and a receive half (DMA1 channel 2). Moves this. */
  split(): { tx: SerialTx; rx: SerialRx } {
    this.token.check();
    const rxEngine = this.port.rxChannel();
    this.token.move('split()');
    return { tx: new SerialTx(this.port), rx: new SerialRx(this.port, rxEngine) };
  }
}

/** The transmit half of a split Serial1, on DMA1 channel 1. */
export class SerialTx {
  /** @internal */
  readonly token = new OwnerToken(
    'this SerialTx',
    'use the SerialTx that wait(), stop() or close() returned',
  );
  private readonly side: SerialSide<SerialTx>;

  /** @internal */
  constructor(readonly port: Usart1Port) {
    this.side = {
      engine: port.txEngine,
      token: this.token,
      fresh: () => new SerialTx(port),
      warn: port.warn,
    };
  }

  write(byte: number, options: { timeoutUs?: number } = {}): Promise<WouldBlock | undefined> {
    this.token.check();
    return this.port.bytes.write(byte, options);
  }

  writeAll(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialTx> {
    return writeAll(this.side, buffer, options);
  }

  streamWriter(options?: StreamWriterOptions): StreamWriter<SerialTx> {
    return new StreamWriter(this.port.board, this.side, options);
  }
}

/** The receive half of a split Serial1, on DMA1 channel 2. */
export class SerialRx {
  /** @internal */
  readonly token = new OwnerToken(
    'this SerialRx',
    'use the SerialRx that wait(), stop() or close() returned',
  );
  private readonly side: SerialSide<SerialRx>;

  /** @internal */
  constructor(
    readonly port: Usart1Port,
    engine: ChannelEngine,
  ) {
    this.side = { engine, token: this.token, fresh: () => new SerialRx(port, engine), warn: port.warn };
  }

  read(options: { timeoutUs?: number } = {}): Promise<number | WouldBlock> {
    this.token.check();
    return this.port.bytes.read(options);
  }

  /** Fills the whole buffer by DMA; only bytes that arrive after `started` resolves (see Serial1.readExact). */
  readExact(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialRx> {
    return readExact(this.side, buffer, options);
  }

  readUntilIdle(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialRx> {
    return readUntilIdle(this.side, buffer, options);
  }

  readCircular(buffer: DmaBuffer, options?: ChannelOptions): CircularReception<SerialRx> {
    return new CircularReception(this.port.board, this.side, buffer, options);
  }
}
