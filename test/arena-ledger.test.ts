/**
 * The board's ledger of arena memory against the real firmware on the
 * virtual board: raw starts it reads back, raw writes it refuses, and
 * memory that goes free only on the board's word.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { RawWriteRefusedError, RevokedError } from '../driver/board/index.ts';
import { CCR_EN, DMA } from '../emulator/stm32g071/dma.ts';
import {
  FAST_BAUD,
  openSerialTarget,
  overlaps,
  pattern,
  type SerialTarget,
  sleepVirtual,
} from './support/api-fixtures.ts';

const targets: SerialTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.dispose();
});

async function open(): Promise<SerialTarget> {
  const t = await openSerialTarget({ baudRate: FAST_BAUD });
  targets.push(t);
  return t;
}

describe('a raw DMA start', () => {
  it('keeps its range out of the allocator while it runs: the bytes it writes land in no buffer', async () => {
    const { board, vb } = await open();
    const ch = board.chip.dma.channels[1]!;
    const u = board.chip.usart1;
    const cmar = board.arena.base + 1024;
    const result = await board.raw.batch(
      (b) =>
        b
          .write(ch.ccr.address, 0)
          .write(ch.mux.address, u.dmaRequest.rx)
          .write(ch.cndtr.address, 256)
          .write(ch.cpar.address, u.rdr.address)
          .write(ch.cmar.address, cmar)
          .maskedWrite(u.cr3.address, 1 << 6, 1 << 6) // DMAR
          .write(ch.ccr.address, 1 | (1 << 7)), // EN | MINC, peripheral to memory
    );
    expect(result.failure).toBeUndefined();
    expect(vb.chip.dma1.read(DMA.CCR(2), 4) & CCR_EN).toBe(CCR_EN);
    expect(board.arenaRegions()).toContainEqual(
      expect.objectContaining({ address: cmar, length: 256, state: 'in-doubt' }),
    );
    // Every byte the allocator still has, handed out: none of it is the running range.
    const buffers = [];
    while (board.arenaUsage().largestFree > 0) buffers.push(board.alloc(board.arenaUsage().largestFree));
    for (const b of buffers) expect(overlaps(b.address, b.length, cmar, 256)).toBe(false);
    for (const [i, b] of buffers.entries()) await b.write(pattern(b.length, i));
    vb.peer.inject(pattern(256, 99));
    await sleepVirtual(vb, 3);
    for (const [i, b] of buffers.entries()) expect(await b.read()).toEqual(pattern(b.length, i));
    expect(await board.readMemory(cmar, 256)).toEqual(pattern(256, 99));
    // Seen off (read back after the raw write): the range is free again.
    for (const b of buffers) b.free();
    await board.raw.writeRegister(ch.ccr.address, 0);
    expect(board.arenaUsage()).toMatchObject({ inDoubt: 0, free: board.arena.size });
  });
});

describe('a raw memory write', () => {
  it('is refused over memory a buffer owns or a transfer has; the bytes on the board stay', async () => {
    const { board, serial } = await open();
    const owned = board.alloc(16);
    await owned.write(pattern(16, 1));
    await expect(board.raw.writeMemory(owned.address + 4, Uint8Array.of(0))).rejects.toBeInstanceOf(
      RawWriteRefusedError,
    );
    expect(await owned.read()).toEqual(pattern(16, 1));
    const lent = board.alloc(16);
    const t = serial.readExact(lent);
    await t.started;
    await expect(board.raw.writeMemory(lent.address - 2, new Uint8Array(4))).rejects.toBeInstanceOf(
      RawWriteRefusedError,
    );
    // Free memory is the caller's.
    await board.raw.writeMemory(lent.address + 16, pattern(8, 2));
    expect(await board.readMemory(lent.address + 16, 8)).toEqual(pattern(8, 2));
    await t.stop();
  });
});

describe('memory a revocation catches lent', () => {
  it('is in doubt, never free, until the board confirmed its channels off (recover)', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(64);
    const t = serial.readExact(buf);
    await t.started;
    const recovering = board.recover();
    expect(board.arenaUsage()).toMatchObject({ inTransfer: 0, inDoubt: 64, free: board.arena.size - 64 });
    await recovering;
    expect(vb.chip.dma1.read(DMA.CCR(1), 4) & CCR_EN).toBe(0);
    expect(board.arenaUsage()).toMatchObject({ inDoubt: 0, free: board.arena.size });
    await expect(t.wait()).rejects.toBeInstanceOf(RevokedError);
  });

  it('is free once a new session answered (reconnect)', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(64);
    const t = serial.readExact(buf);
    await t.started;
    await board.reconnect();
    expect(vb.chip.dma1.read(DMA.CCR(1), 4) & CCR_EN).toBe(0);
    expect(board.arenaUsage()).toMatchObject({ inTransfer: 0, inDoubt: 0, free: board.arena.size });
    await expect(t.wait()).rejects.toBeInstanceOf(RevokedError);
  });
});
