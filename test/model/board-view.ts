/**
 * Two views of the board's DMA memory that the model test compares after
 * every step:
 *
 * - the board's own: DMA channel registers read straight from the virtual
 *   chip (CCR.EN, CMAR, CNDTR), i.e. what the DMA is aimed at right now;
 * - the driver's: which arena regions it would hand out (free) and which the
 *   program holds (owned buffers the model keeps, with the address and
 *   length they had when the driver handed them out, never read back through
 *   an object a caller may have changed).
 *
 * All driver access the model needs goes through this module, so the
 * driver's bookkeeping can change shape without touching the commands.
 */

import type { Board } from '../../driver/board/index.ts';
import type { VirtualBoard } from '../../emulator/index.ts';
import { CCR_CIRC, CCR_EN, DMA, DMA_CHANNELS } from '../../emulator/stm32g071/dma.ts';

export interface Region {
  readonly address: number;
  readonly length: number;
}

export interface RunningChannel extends Region {
  readonly channel: number;
  readonly ccr: number;
  readonly cndtr: number;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

export function overlap(a: Region, b: Region): boolean {
  return a.address < b.address + b.length && b.address < a.address + a.length;
}

export function describeRegion(r: Region): string {
  return `[${hex(r.address)}, ${hex(r.address + r.length)})`;
}

/**
 * Every DMA1 channel that may still move data: EN set and items left (or
 * circular). Its range runs from CMAR over the larger of CNDTR and the count
 * last programmed (the whole buffer a transfer was aimed at stays in use
 * until the channel stops, not only the part still to move).
 */
export function runningChannels(vb: VirtualBoard): RunningChannel[] {
  const dma = vb.chip.dma1;
  const out: RunningChannel[] = [];
  for (let n = 1; n <= DMA_CHANNELS; n++) {
    const ccr = dma.read(DMA.CCR(n), 4);
    const cndtr = dma.read(DMA.CNDTR(n), 4) & 0xffff;
    if ((ccr & CCR_EN) === 0) continue;
    if (cndtr === 0 && (ccr & CCR_CIRC) === 0) continue;
    const cmar = dma.read(DMA.CMAR(n), 4) >>> 0;
    const size = 1 << ((ccr >>> 10) & 3);
    const items = Math.max(cndtr, programmedCount(vb, n));
    out.push({ channel: n, ccr, cndtr, address: cmar, length: items * size });
  }
  return out;
}

/** The count software last wrote to CNDTR (the circular reload value), when the model exposes it. */
function programmedCount(vb: VirtualBoard, n: number): number {
  // The chip model keeps it beside the registers; a test reads it to know a
  // running transfer's whole range, which CNDTR alone no longer shows.
  const channels = (vb.chip.dma1 as unknown as { channels?: { programmed?: number }[] }).channels;
  const programmed = channels?.[n - 1]?.programmed;
  return typeof programmed === 'number' ? programmed & 0xffff : 0;
}

/** The driver's view of the arena: its ledger, one state per region. */
export interface DriverView {
  /** Regions the driver could hand out by `alloc()` now. */
  readonly free: readonly Region[];
  /** Regions the driver says a DmaBuffer owns (no DMA may run there). */
  readonly owned: readonly Region[];
  /** Arena base and size as the board reported them. */
  readonly arena: Region;
}

export function driverView(board: Board): DriverView {
  const regions = board.arenaRegions();
  const of = (state: string) =>
    regions.filter((r) => r.state === state).map((r) => ({ address: r.address, length: r.length }));
  return {
    free: of('free'),
    owned: of('owned'),
    arena: { address: board.arena.base, length: board.arena.size },
  };
}

/** Raw register access, outside the safe API. */
export interface RawAccess {
  writeRegister(address: number, value: number): Promise<void>;
  readRegister(address: number): Promise<number>;
}

export function rawAccess(board: Board): RawAccess {
  return {
    writeRegister: (address, value) => board.raw.writeRegister(address, value),
    readRegister: (address) => board.readRegister(address),
  };
}

/** Calls `listener` whenever the driver voids every handle (a reset it noticed, recover(), a new session). */
export function onRevoke(board: Board, listener: () => void): () => void {
  return board.handles.onRevoke(() => listener());
}
