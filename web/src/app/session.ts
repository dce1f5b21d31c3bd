/**
 * One connected board as the console sees it: the driver's Board (HELLO,
 * registers, memory, typed events and refusals) plus the transport it
 * runs on. Panels talk to this object only.
 */
import { Board, type BoardListener } from '../../../driver/board/index.ts';
import type { BatchOp, HelloInfo } from '../../../driver/protocol/index.ts';
import type { OpenedTransport } from './open-transport.ts';

export class ConsoleSession {
  private constructor(
    readonly opened: OpenedTransport,
    readonly board: Board,
  ) {}

  /** Opens the board (HELLO, checked against the chip). Closes the transport if that fails. */
  static async open(opened: OpenedTransport): Promise<ConsoleSession> {
    // The virtual board shares the machine's cores with the page: on a busy
    // machine it may answer late, so it is given more retransmissions before
    // the link gives up on it.
    const board = await Board.open(opened.transport, opened.kind === 'virtual' ? { maxRetries: 30 } : {});
    return new ConsoleSession(opened, board);
  }

  get hello(): HelloInfo {
    return this.board.hello;
  }

  subscribe(listener: BoardListener): () => void {
    return this.board.subscribe(listener);
  }

  /** Reads registers in one batch, in the order given. */
  readRegisters(addresses: readonly number[]): Promise<number[]> {
    return this.batch(addresses.map((address) => ({ op: 'read', address })));
  }

  /** Runs a register batch; resolves with the values read, or throws the board's typed refusal. */
  async batch(ops: readonly BatchOp[]): Promise<number[]> {
    const result = await this.board.raw.batch(ops);
    if (result.failure) throw result.failure.error;
    return result.values;
  }

  memWrite(address: number, data: Uint8Array): Promise<void> {
    return this.board.raw.writeMemory(address, data);
  }

  memRead(address: number, length: number): Promise<Uint8Array> {
    return this.board.readMemory(address, length);
  }

  /** Opens a new session after a board reset (HELLO again). */
  reopen(): Promise<HelloInfo> {
    return this.board.reconnect();
  }

  close(): Promise<void> {
    return this.board.close();
  }
}
