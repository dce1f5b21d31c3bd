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
import { boardInternals } from '../board/internals.ts';
import { OwnerToken } from '../board/ownership.ts';
import { type SerialConfig, UsartBytes, type WouldBlock } from '../primitives/usart-bytes.ts';
import { ChannelEngine, type ChannelOptions } from './channel-engine.ts';
import { CircularReception } from './circular-reception.ts';
import { SerialHalfConstructionError } from './errors.ts';
import { readExact, readUntilIdle, type SerialSide, writeAll } from './serial-dma.ts';
import { StreamWriter, type StreamWriterOptions } from './stream-writer.ts';
import type { Transfer } from './transfer.ts';

export interface TakeSerialOptions extends SerialConfig {
  /** Where warnings go (a Transfer garbage-collected while running, firmware older than 2.4). Default console.warn. */
  onWarning?: (message: string) => void;
}

/** What every owner of USART1 shares: the claim, the byte-level access, the channels. */
class Usart1Port {
  readonly bytes: UsartBytes;
  #rxEngine: ChannelEngine | undefined;

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
    if (!this.#rxEngine) {
      const chip = boardInternals(this.board).chip;
      this.#rxEngine = new ChannelEngine(
        this.board,
        chip.dma.channels[1]!,
        chip.usart1,
        this.board.claim('DMA1 channel 2'),
      );
    }
    return this.#rxEngine;
  }
}

/** Any owner of USART1 a transfer can hand back. */
export type SerialOwner = Serial1 | SerialTx | SerialRx;

/**
 * Each serial object's port and DMA side, kept off the object (a
 * TypeScript-private property is a plain one at run time): nobody holding
 * a Serial1 or a half can reach its channel engine or owner token.
 */
const ports = new WeakMap<object, Usart1Port>();
const sides = new WeakMap<object, SerialSide<SerialOwner>>();

function portOf(serial: object): Usart1Port {
  const port = ports.get(serial);
  if (!port) throw new TypeError('not a Serial1, SerialTx or SerialRx from Serial1.take()');
  return port;
}

function sideOf<S extends SerialOwner>(serial: S): SerialSide<S> {
  const side = sides.get(serial);
  if (!side) throw new TypeError('not a Serial1, SerialTx or SerialRx from Serial1.take()');
  return side as unknown as SerialSide<S>;
}

/** @internal a serial object's DMA side, for tests that reach in as the driver does; not exported from the package. */
export function serialSideOf<S extends SerialOwner>(serial: S): SerialSide<S> {
  return sideOf(serial);
}

/** Registers a new serial object's port and side, and freezes it. */
function register<S extends SerialOwner>(
  serial: S,
  port: Usart1Port,
  engine: ChannelEngine,
  what: string,
  fresh: () => S,
): void {
  const token = new OwnerToken(`this ${what}`, `use the ${what} that wait(), stop() or close() returned`);
  const side: SerialSide<S> = Object.freeze({ engine, token, fresh, warn: port.warn });
  ports.set(serial, port);
  sides.set(serial, side as unknown as SerialSide<SerialOwner>);
  Object.freeze(serial);
}

/**
 * Firmware before 2.4 sends USART events without the channels' start
 * numbers (PROTOCOL.md §10): the driver then takes one for the transfer
 * running when it arrives, which a late TC or error of an earlier transfer
 * can still fool. Said once, when the serial is taken.
 */
function warnIfUsartEventsNameNoStart(board: Board, warn: (message: string) => void): void {
  const { major, minor, patch } = board.hello.firmwareVersion;
  if (major > 2 || (major === 2 && minor >= 4)) return;
  warn(
    `the bridge firmware ${major}.${minor}.${patch} sends USART events without start numbers (firmware 2.4 added ` +
      'them): a TC or reception error of an earlier transfer that reaches the host late can end a later ' +
      "writeAll() before its last bytes left, or fail a later reception. Flash this driver's firmware " +
      '(npx dma-bridge flash)',
  );
}

export class Serial1 {
  private constructor(port: Usart1Port) {
    register<Serial1>(this, port, port.txEngine, 'Serial1', () => new Serial1(port));
  }

  /**
   * Takes USART1 and DMA1 channel 1 (the chapter's `Serial1` owns its
   * `Dma1Channel1`) and configures 8N1 at `baudRate`. Once per board: a
   * second take throws AlreadyTakenError until board.recover().
   */
  static async take(board: Board, options: TakeSerialOptions): Promise<Serial1> {
    // Read once: the caller's object is not read again.
    const o = options as Partial<TakeSerialOptions> | undefined;
    if (typeof o !== 'object' || o === null) throw new TypeError('Serial1.take() takes an options object');
    const baudRate = o.baudRate;
    const errorEvents = o.errorEvents;
    const onWarning = o.onWarning;
    const config: SerialConfig =
      errorEvents === undefined
        ? { baudRate: baudRate as number }
        : { baudRate: baudRate as number, errorEvents };
    const usart = board.claim('Serial1 (USART1)');
    let channel: Handle | undefined;
    let engine: ChannelEngine | undefined;
    try {
      channel = board.claim('DMA1 channel 1');
      const chip = boardInternals(board).chip;
      engine = new ChannelEngine(board, chip.dma.channels[0]!, chip.usart1, channel);
      const port = new Usart1Port(board, usart, engine, onWarning ?? ((m) => console.warn(m)));
      await port.bytes.configure(Object.freeze(config));
      warnIfUsartEventsNameNoStart(board, port.warn);
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
    const port = portOf(tx);
    if (!(tx instanceof SerialTx) || !(rx instanceof SerialRx) || port !== portOf(rx)) {
      throw new Error('these halves come from different Serial1 objects');
    }
    const txToken = sideOf(tx).token;
    const rxToken = sideOf(rx).token;
    txToken.check();
    rxToken.check();
    txToken.move('Serial1.join()');
    rxToken.move('Serial1.join()');
    return new Serial1(port);
  }

  /** One received byte, or `WouldBlock` (the chapter's blocking read, in `nb` style). */
  read(options: { timeoutUs?: number } = {}): Promise<number | WouldBlock> {
    sideOf(this).token.check();
    return portOf(this).bytes.read(options);
  }

  /** Sends one byte, or `WouldBlock` when TDR stays full. */
  write(byte: number, options: { timeoutUs?: number } = {}): Promise<WouldBlock | undefined> {
    sideOf(this).token.check();
    return portOf(this).bytes.write(byte, options);
  }

  /** Sends the whole buffer by DMA; complete when the last bit has left the wire. Moves this and `buffer`. */
  writeAll(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return writeAll(sideOf(this), buffer, options);
  }

  /**
   * Fills the whole buffer by DMA. Moves this and `buffer`. Reception begins
   * when the transfer's `started` resolves (the board enabled the channel);
   * bytes that reach RX before then are discarded, so let a peer send only
   * after `await transfer.started`.
   */
  readExact(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return readExact(sideOf(this), buffer, options);
  }

  /**
   * Receives until the line goes idle after data (or the buffer is full);
   * `wait()` or `stop()` give the length received as `transferred` (stop()).
   */
  readUntilIdle(buffer: DmaBuffer, options?: ChannelOptions): Transfer<Serial1> {
    return readUntilIdle(sideOf(this), buffer, options);
  }

  /** Circular reception: an async iterator of halves, with overrun detection. Moves this and `buffer`. */
  readCircular(buffer: DmaBuffer, options?: ChannelOptions): CircularReception<Serial1> {
    return new CircularReception(portOf(this).board, sideOf(this), buffer, options);
  }

  /** A double-buffered writer for any amount of data. Moves this until `close()`. */
  streamWriter(options?: StreamWriterOptions): StreamWriter<Serial1> {
    return new StreamWriter(portOf(this).board, sideOf(this), options);
  }

  /** Splits into a transmit half (DMA1 channel 1) and a receive half (DMA1 channel 2). Moves this. */
  split(): { tx: SerialTx; rx: SerialRx } {
    const token = sideOf(this).token;
    token.check();
    const port = portOf(this);
    const rxEngine = port.rxChannel();
    token.move('split()');
    return { tx: new SerialTx(port, HALF_KEY), rx: new SerialRx(port, rxEngine, HALF_KEY) };
  }
}

/** Known to this module only: a half made anywhere else would be a second owner of its channel. */
const HALF_KEY: unique symbol = Symbol('Serial1 half');

function assertHalfKey(key: unknown, what: string): void {
  if (key !== HALF_KEY) {
    throw new SerialHalfConstructionError(
      `${what} is made by Serial1.split() only: split the Serial1 that owns USART1`,
    );
  }
}

/** The transmit half of a split Serial1, on DMA1 channel 1. */
export class SerialTx {
  /** @internal only Serial1.split() makes halves. */
  constructor(port: Usart1Port, key?: typeof HALF_KEY) {
    assertHalfKey(key, 'SerialTx');
    register<SerialTx>(this, port, port.txEngine, 'SerialTx', () => new SerialTx(port, HALF_KEY));
  }

  write(byte: number, options: { timeoutUs?: number } = {}): Promise<WouldBlock | undefined> {
    sideOf(this).token.check();
    return portOf(this).bytes.write(byte, options);
  }

  writeAll(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialTx> {
    return writeAll(sideOf(this), buffer, options);
  }

  streamWriter(options?: StreamWriterOptions): StreamWriter<SerialTx> {
    return new StreamWriter(portOf(this).board, sideOf(this), options);
  }
}

/** The receive half of a split Serial1, on DMA1 channel 2. */
export class SerialRx {
  /** @internal only Serial1.split() makes halves. */
  constructor(port: Usart1Port, engine: ChannelEngine, key?: typeof HALF_KEY) {
    assertHalfKey(key, 'SerialRx');
    register<SerialRx>(this, port, engine, 'SerialRx', () => new SerialRx(port, engine, HALF_KEY));
  }

  read(options: { timeoutUs?: number } = {}): Promise<number | WouldBlock> {
    sideOf(this).token.check();
    return portOf(this).bytes.read(options);
  }

  /** Fills the whole buffer by DMA; only bytes that arrive after `started` resolves (see Serial1.readExact). */
  readExact(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialRx> {
    return readExact(sideOf(this), buffer, options);
  }

  readUntilIdle(buffer: DmaBuffer, options?: ChannelOptions): Transfer<SerialRx> {
    return readUntilIdle(sideOf(this), buffer, options);
  }

  readCircular(buffer: DmaBuffer, options?: ChannelOptions): CircularReception<SerialRx> {
    return new CircularReception(portOf(this).board, sideOf(this), buffer, options);
  }
}
