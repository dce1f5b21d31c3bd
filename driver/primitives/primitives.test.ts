import { describe, expect, it } from 'vitest';
import { SerialError } from '../api/errors.ts';
import { Serial1 } from '../api/serial1.ts';
import { AlreadyTakenError, DmaStartRefusedError, RevokedError } from '../board/errors.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE } from '../test-support/fake-board.ts';
import { Dma1Channel1, takeDma1Channel1 } from './dma1-channel1.ts';
import { WouldBlock } from './usart-bytes.ts';

describe('Dma1Channel1', () => {
  it('is a singleton per boot of the board', async () => {
    const { board } = await openBoardOnFake();
    takeDma1Channel1(board);
    expect(() => Dma1Channel1.take(board)).toThrow(AlreadyTakenError);
    await board.close();
  });

  it('programs a memory-to-USART1 transfer and starts it in one request', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    const dma = takeDma1Channel1(board);
    await dma.setSourceAddress(0x2000_4000, true);
    await dma.setDestinationAddress(FAKE.USART_TDR, false);
    await dma.setTransferLength(5);
    const before = fake.received.length;
    await dma.start();
    // One request starts it; the ledger reads the channel's count before and the channel back after.
    expect(fake.received.length - before).toBe(3);
    expect(fake.reg(FAKE.CMAR1)).toBe(0x2000_4000);
    expect(fake.reg(FAKE.CPAR1)).toBe(FAKE.USART_TDR);
    expect(fake.reg(FAKE.CCR1)).toBe(0x91); // EN, DIR, MINC
    expect(fake.reg(FAKE.C0CR)).toBe(51);
    expect(await dma.inProgress()).toBe(true);
    await dma.stop();
    expect(await dma.inProgress()).toBe(false);
    await board.close();
  });

  it('programs USART1-to-memory reception, routed to request 50, and sees completion', async () => {
    const { board, fake } = await openBoardOnFake();
    fake.usartRx.push(10, 20, 30);
    const dma = takeDma1Channel1(board);
    await dma.setSourceAddress(FAKE.USART_RDR, false);
    await dma.setDestinationAddress(0x2000_4010, true);
    await dma.setTransferLength(3);
    await dma.start();
    expect(fake.reg(FAKE.C0CR)).toBe(50);
    expect(await dma.inProgress()).toBe(false); // the fake completes at once
    expect([...fake.arena.subarray(0x10, 0x13)]).toEqual([10, 20, 30]);
    await board.close();
  });

  it('surfaces the board refusing an unsafe start', async () => {
    const { board } = await openBoardOnFake();
    const dma = takeDma1Channel1(board);
    await dma.setSourceAddress(0x2000_0000, true); // the firmware's own RAM, not the arena
    await dma.setDestinationAddress(FAKE.USART_TDR, false);
    await dma.setTransferLength(4);
    const err = await dma.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DmaStartRefusedError);
    expect((err as DmaStartRefusedError).reason).toBe(1);
    await expect(dma.setTransferLength(0)).rejects.toBeInstanceOf(RangeError);
    await board.close();
  });

  it('is revoked by a board reset', async () => {
    const { board, fake } = await openBoardOnFake();
    const dma = takeDma1Channel1(board);
    fake.reset();
    await board.ping().catch(() => {});
    await board.reconnect();
    await expect(dma.setTransferLength(1)).rejects.toBeInstanceOf(RevokedError);
    expect(takeDma1Channel1(board)).toBeInstanceOf(Dma1Channel1);
    await board.close();
  });
});

describe('Serial1', () => {
  it('writes bytes through TDR and reads them from RDR, WouldBlock when empty', async () => {
    const { board, fake } = await openBoardOnFake();
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    await expect(Serial1.take(board, { baudRate: 115_200 })).rejects.toThrow(AlreadyTakenError);
    expect(fake.reg(0x4001_380c)).toBe(556); // BRR at 64 MHz
    expect(fake.reg(FAKE.USART_CR1)).toBe(0b1101);
    for (const b of [0x48, 0x69]) expect(await serial.write(b)).toBeUndefined();
    expect(fake.usartTx).toEqual([0x48, 0x69]);
    expect(await serial.read()).toBe(WouldBlock);
    fake.usartRx.push(0x21);
    expect(await serial.read()).toBe(0x21);
    expect(await serial.read()).toBe(WouldBlock);
    await expect(serial.write(256)).rejects.toBeInstanceOf(RangeError);
    await board.close();
  });

  it('reports reception errors as typed errors and clears them', async () => {
    const { board, fake } = await openBoardOnFake();
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    fake.usartRx.push(0x55);
    fake.usartErrors = 1 << 3; // ORE
    const err = await serial.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerialError);
    expect((err as SerialError).kinds).toEqual(['overrun']);
    expect(fake.usartErrors).toBe(0);
    expect(await serial.read()).toBe(0x55); // the byte in RDR was still good
    // Errors the board reported as events (and cleared) come out of the next read.
    fake.emitEvent({ event: 'usart', flags: 1 << 1, isr: 0xc2, cndtr1: 0, cndtr2: 0 });
    await board.ping();
    await expect(serial.read()).rejects.toThrow(/framing/);
    await board.close();
  });
});
