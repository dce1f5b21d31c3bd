/**
 * Serial1 and its halves on the fake board: taking USART1 (once, with what
 * it configures and warns), the byte-level calls, split() and join(), and
 * the checks that keep each channel to one owner.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Board } from '../board/board.ts';
import { MovedError } from '../board/buffer-errors.ts';
import { AlreadyTakenError } from '../board/errors.ts';
import { WouldBlock } from '../primitives/usart-bytes.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, type FakeBoard, type FakeBoardOptions } from '../test-support/fake-board.ts';
import { describeOps, USART_BRR, USART_CR3 } from '../test-support/serial-harness.ts';
import { SerialHalfConstructionError } from './errors.ts';
import { Serial1, SerialRx, SerialTx } from './serial1.ts';

let open: { board: Board; fake: FakeBoard } | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await open?.board.close();
  open = undefined;
});

async function board(fake: FakeBoardOptions = {}) {
  open = await openBoardOnFake({ fake: { dmaCompletesAtOnce: true, ...fake } });
  return open;
}

const notOurs = 'not a Serial1, SerialTx or SerialRx from Serial1.take()';

describe('Serial1.take()', () => {
  it('configures 8N1 at the baud rate with error events, and enables the USART', async () => {
    const { board: b, fake } = await board();
    const from = fake.received.length;
    await Serial1.take(b, { baudRate: 115_200, onWarning: () => {} });
    const ops = fake.received
      .slice(from)
      .flatMap((r) => (r.command === 'reg-batch' ? describeOps(r.ops) : []));
    expect(ops).toEqual(['USART_CR1 = 0x0', 'USART_BRR = 0x22c', 'USART_CR3 = 0x1', 'USART_CR1 = 0xd']);
  });

  it('errorEvents: false leaves the error interrupt off', async () => {
    const { board: b, fake } = await board();
    await Serial1.take(b, { baudRate: 9600, errorEvents: false });
    expect({ cr3: fake.reg(USART_CR3), brr: fake.reg(USART_BRR) }).toEqual({ cr3: 0, brr: 6667 });
  });

  it('takes an options object', async () => {
    const { board: b } = await board();
    for (const bad of [undefined, null, 115_200]) {
      await expect(Serial1.take(b, bad as never)).rejects.toThrow(
        new TypeError('Serial1.take() takes an options object'),
      );
    }
    await Serial1.take(b, { baudRate: 115_200 });
  });

  it('once per board: a second take is refused, naming USART1', async () => {
    const { board: b } = await board();
    await Serial1.take(b, { baudRate: 115_200 });
    await expect(Serial1.take(b, { baudRate: 115_200 })).rejects.toThrow(
      new AlreadyTakenError('Serial1 (USART1)'),
    );
  });

  it('a take that fails hands nothing out: the next one may try again', async () => {
    const { board: b } = await board();
    await expect(Serial1.take(b, { baudRate: 1 })).rejects.toThrow(
      '1 baud is out of reach from a 64000000 Hz USART1 clock',
    );
    const serial = await Serial1.take(b, { baudRate: 115_200 });
    await serial.writeAll(b.alloc(4)).wait();
  });

  describe('firmware that sends USART events without start numbers is named once, with the fix', () => {
    const message = (v: string) =>
      `the bridge firmware ${v} sends USART events without start numbers (firmware 2.4 added them): ` +
      'a TC or reception error of an earlier transfer that reaches the host late can end a later writeAll() ' +
      "before its last bytes left, or fail a later reception. Flash this driver's firmware (npx dma-bridge flash)";

    for (const [major, minor, patch, warns] of [
      [2, 3, 9, true],
      [1, 5, 0, true],
      [2, 4, 0, false],
      [2, 5, 0, false],
      [3, 0, 0, false],
    ] as const) {
      it(`${major}.${minor}.${patch}: ${warns ? 'warns' : 'says nothing'}`, async () => {
        const { board: b } = await board({ firmwareVersion: { major, minor, patch } });
        const warnings: string[] = [];
        await Serial1.take(b, { baudRate: 115_200, onWarning: (m) => warnings.push(m) });
        expect(warnings).toEqual(warns ? [message(`${major}.${minor}.${patch}`)] : []);
      });
    }

    it('to console.warn unless told otherwise', async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const { board: b } = await board({ firmwareVersion: { major: 2, minor: 0, patch: 1 } });
      await Serial1.take(b, { baudRate: 115_200 });
      expect(warn).toHaveBeenCalledWith(message('2.0.1'));
    });
  });
});

describe('bytes one at a time', () => {
  it('read() gives a received byte or WouldBlock; write() sends one', async () => {
    const { board: b, fake } = await board();
    const serial = await Serial1.take(b, { baudRate: 115_200 });
    expect(await serial.read()).toBe(WouldBlock);
    fake.usartRx.push(0x41);
    expect(await serial.read()).toBe(0x41);
    expect(await serial.write(0x42)).toBeUndefined();
    expect(fake.usartTx).toEqual([0x42]);
  });

  it('the halves: the transmit half writes, the receive half reads', async () => {
    const { board: b, fake } = await board();
    const { tx, rx } = (await Serial1.take(b, { baudRate: 115_200 })).split();
    fake.usartRx.push(7);
    expect(await rx.read()).toBe(7);
    await tx.write(8);
    expect(fake.usartTx).toEqual([8]);
  });

  it('a moved serial refuses them, naming the call that moved it', async () => {
    const { board: b } = await board();
    const serial = await Serial1.take(b, { baudRate: 115_200 });
    const { tx, rx } = serial.split();
    const moved = new MovedError(
      'this Serial1',
      'split()',
      'use the Serial1 that wait(), stop() or close() returned',
    );
    expect(() => serial.read()).toThrow(moved);
    expect(() => serial.write(1)).toThrow(moved);
    tx.writeAll(b.alloc(4));
    rx.readExact(b.alloc(4));
    expect(() => tx.write(1)).toThrow(
      new MovedError(
        'this SerialTx',
        'writeAll()',
        'use the SerialTx that wait(), stop() or close() returned',
      ),
    );
    expect(() => rx.read()).toThrow(
      new MovedError(
        'this SerialRx',
        'readExact()',
        'use the SerialRx that wait(), stop() or close() returned',
      ),
    );
  });
});

describe('split() and join()', () => {
  it('the halves run a transmit on channel 1 and a reception on channel 2 at once, and hand back halves', async () => {
    const { board: b, fake } = await board({ dmaCompletesAtOnce: false });
    const { tx, rx } = (await Serial1.take(b, { baudRate: 115_200 })).split();
    const write = tx.writeAll(b.alloc(4));
    const read = rx.readUntilIdle(b.alloc(4));
    await Promise.all([write.started, read.started]);
    expect({ ch1: fake.reg(FAKE.CCR1) & 1, ch2: fake.reg(FAKE.CCR2) & 1 }).toEqual({ ch1: 1, ch2: 1 });
    const [w, r] = await Promise.all([write.stop(), read.stop()]);
    expect(w.serial).toBeInstanceOf(SerialTx);
    expect(r.serial).toBeInstanceOf(SerialRx);
    const joined = Serial1.join(w.serial, r.serial);
    expect(joined).toBeInstanceOf(Serial1);
    // Split again: the receive channel, claimed once, is the same.
    const again = joined.split();
    await again.rx.readExact(b.alloc(4)).started;
  });

  it('the halves’ other operations: a stream from the transmit half, circular reception on the receive half', async () => {
    const { board: b, fake } = await board();
    const { tx, rx } = (await Serial1.take(b, { baudRate: 115_200 })).split();
    const c = rx.readCircular(b.alloc(8));
    await c.started;
    expect(fake.reg(FAKE.CCR2) & (1 << 5)).not.toBe(0);
    const s = tx.streamWriter({ chunkSize: 4 });
    await s.write(Uint8Array.of(1, 2, 3, 4));
    await s.close();
    expect(fake.usartTx).toEqual([1, 2, 3, 4]);
    const { serial } = await c.stop();
    expect(serial).toBeInstanceOf(SerialRx);
  });

  it('join() moves both halves, and takes only the two halves of one Serial1', async () => {
    const { board: b } = await board();
    const { tx, rx } = (await Serial1.take(b, { baudRate: 115_200 })).split();
    expect(() => Serial1.join(rx as never, tx as never)).toThrow(
      new Error('these halves come from different Serial1 objects'),
    );
    expect(() => Serial1.join({} as never, rx)).toThrow(new TypeError(notOurs));
    expect(() => Serial1.join(tx, {} as never)).toThrow('these halves come from different Serial1 objects');
    Serial1.join(tx, rx);
    expect(() => Serial1.join(tx, rx)).toThrow(
      new MovedError(
        'this SerialTx',
        'Serial1.join()',
        'use the SerialTx that wait(), stop() or close() returned',
      ),
    );
    expect(() => tx.writeAll(b.alloc(4))).toThrow(MovedError);
    expect(() => rx.readExact(b.alloc(4))).toThrow(MovedError);
  });

  it('join() of a moved receive half is refused before anything moves', async () => {
    const { board: b } = await board();
    const { tx, rx } = (await Serial1.take(b, { baudRate: 115_200 })).split();
    rx.readExact(b.alloc(4));
    expect(() => Serial1.join(tx, rx)).toThrow(MovedError);
    // The transmit half was not moved by the refused join.
    await tx.writeAll(b.alloc(4)).wait();
  });

  it('halves of two boards do not join', async () => {
    const { board: b } = await board();
    const first = (await Serial1.take(b, { baudRate: 115_200 })).split();
    const other = await openBoardOnFake();
    try {
      const second = (await Serial1.take(other.board, { baudRate: 115_200 })).split();
      expect(() => Serial1.join(first.tx, second.rx)).toThrow(
        'these halves come from different Serial1 objects',
      );
    } finally {
      await other.board.close();
    }
  });

  it('halves are made by split() only', async () => {
    expect(() => new SerialTx({} as never)).toThrow(
      new SerialHalfConstructionError(
        'SerialTx is made by Serial1.split() only: split the Serial1 that owns USART1',
      ),
    );
    expect(() => new SerialRx({} as never, {} as never, Symbol('Serial1 half') as never)).toThrow(
      new SerialHalfConstructionError(
        'SerialRx is made by Serial1.split() only: split the Serial1 that owns USART1',
      ),
    );
  });

  it('a serial object’s methods work only on serial objects from take()', async () => {
    expect(() => Serial1.prototype.read.call({})).toThrow(new TypeError(notOurs));
    expect(() => Serial1.prototype.readCircular.call({}, {} as never)).toThrow(new TypeError(notOurs));
    expect(() => Serial1.prototype.streamWriter.call({})).toThrow(new TypeError(notOurs));
  });
});
