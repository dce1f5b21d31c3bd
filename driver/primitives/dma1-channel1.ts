/**
 * The chapter's `Dma1Channel1` over the bridge: DMA1 channel 1, routed by
 * DMAMUX to USART1. Thin: each method is one request frame and one reply,
 * built from the chip description, with no checks of its own beyond
 * argument ranges; the board refuses anything unsafe (DmaStartRefusedError).
 * This is the raw primitive, with the chapter's hazards intact: the safe
 * Transfer API is built on top of it.
 */

import type { Board } from '../board/board.ts';
import type { Handle } from '../board/handles.ts';
import { fieldMask, getField } from '../chip/decode.ts';
import type { DmaChannelDescription } from '../chip/types.ts';

/** Which side of the transfer is the peripheral, learned from the addresses set. */
type Direction = 'peripheral-to-memory' | 'memory-to-peripheral';

export class Dma1Channel1 {
  readonly handle: Handle;
  private readonly ch: DmaChannelDescription;
  private direction: Direction | undefined;

  private constructor(private readonly board: Board) {
    this.handle = board.claim('DMA1 channel 1');
    this.ch = board.chip.dma.channels[0]!;
  }

  /** Takes the channel; a second take from the same boot of the board throws AlreadyTakenError. */
  static take(board: Board): Dma1Channel1 {
    return new Dma1Channel1(board);
  }

  /** Data will be read from `address`; `inc` advances it after each item. */
  async setSourceAddress(address: number, inc: boolean): Promise<void> {
    // A peripheral source means the DMA reads from the peripheral: DIR = 0.
    await this.setAddress(
      address,
      inc,
      this.isPeripheral(address) ? 'peripheral-to-memory' : 'memory-to-peripheral',
    );
  }

  /** Data will be written to `address`; `inc` advances it after each item. */
  async setDestinationAddress(address: number, inc: boolean): Promise<void> {
    await this.setAddress(
      address,
      inc,
      this.isPeripheral(address) ? 'memory-to-peripheral' : 'peripheral-to-memory',
    );
  }

  /** Number of items (bytes at the default 8-bit sizes) to transfer, 1..65535. */
  async setTransferLength(len: number): Promise<void> {
    if (!Number.isInteger(len) || len < 1 || len > 0xffff) {
      throw new RangeError(`the transfer length must be 1..65535 items, got ${len}`);
    }
    await this.board.raw.writeRegister(this.ch.cndtr.address, len, { handle: this.handle });
  }

  /**
   * Routes the USART1 request that matches the direction through DMAMUX,
   * clears the channel's old flags and enables it, in one batch.
   */
  async start(): Promise<void> {
    const direction = this.direction ?? (await this.readDirection());
    const requests = this.board.chip.usart1.dmaRequest;
    const request = direction === 'memory-to-peripheral' ? requests.tx : requests.rx;
    const en = fieldMask(this.ch.ccr, 'EN');
    await this.run((b) =>
      b
        .write(this.board.chip.dma.ifcr.address, (0xf << this.ch.flagShift) >>> 0)
        .write(this.ch.mux.address, request)
        .maskedWrite(this.ch.ccr.address, en, en),
    );
  }

  /** Disables the channel (CCR.EN = 0); the DMA stops after the item it is moving. */
  async stop(): Promise<void> {
    await this.run((b) => b.maskedWrite(this.ch.ccr.address, fieldMask(this.ch.ccr, 'EN'), 0));
  }

  /** True while the channel is enabled with items left (or circular). */
  async inProgress(): Promise<boolean> {
    const { values } = await this.run((b) => b.read(this.ch.ccr.address).read(this.ch.cndtr.address));
    const [ccr, cndtr] = values as [number, number];
    const enabled = getField(this.ch.ccr, 'EN', ccr) === 1;
    const circular = getField(this.ch.ccr, 'CIRC', ccr) === 1;
    return enabled && (circular || (cndtr & 0xffff) !== 0);
  }

  private isPeripheral(address: number): boolean {
    const r = this.board.chip.peripheralRange;
    return address >= r.start && address < r.end;
  }

  private async setAddress(address: number, inc: boolean, direction: Direction): Promise<void> {
    if (!Number.isInteger(address) || address < 0 || address > 0xffff_ffff) {
      throw new RangeError(`not a 32-bit address: ${address}`);
    }
    const peripheral = this.isPeripheral(address);
    const dir = fieldMask(this.ch.ccr, 'DIR');
    const incMask = fieldMask(this.ch.ccr, peripheral ? 'PINC' : 'MINC');
    const target = peripheral ? this.ch.cpar.address : this.ch.cmar.address;
    await this.run((b) =>
      b
        .write(target, address)
        .maskedWrite(
          this.ch.ccr.address,
          dir | incMask,
          (direction === 'memory-to-peripheral' ? dir : 0) | (inc ? incMask : 0),
        ),
    );
    this.direction = direction;
  }

  private async readDirection(): Promise<Direction> {
    const ccr = await this.board.readRegister(this.ch.ccr.address, { handle: this.handle });
    return getField(this.ch.ccr, 'DIR', ccr) ? 'memory-to-peripheral' : 'peripheral-to-memory';
  }

  private async run(build: Parameters<Board['raw']['batch']>[0]) {
    const result = await this.board.raw.batch(build, { handle: this.handle });
    if (result.failure) throw result.failure.error;
    return result;
  }
}

export function takeDma1Channel1(board: Board): Dma1Channel1 {
  return Dma1Channel1.take(board);
}
