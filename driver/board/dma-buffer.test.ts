/**
 * DmaBuffer at its edges, on the fake board: what a view is, what each call
 * refuses (with the numbers it names) before anything is sent, and how a
 * loan moves the buffer and hands it back.
 */
import { describe, expect, it } from 'vitest';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { BufferBusyError, BufferFreedError, ForeignBufferError, MovedError } from './buffer-errors.ts';
import { assertDmaBuffer, BufferLoan, DmaBuffer, lendBuffer } from './dma-buffer.ts';
import { RevokedError } from './errors.ts';
import { boardInternals } from './internals.ts';

const ARENA = 0x2000_4000;

describe('DmaBuffer: what a buffer is', () => {
  it('tells a genuine buffer from everything else, and names what it got', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(16);
    expect(DmaBuffer.isDmaBuffer(buf)).toBe(true);
    expect(DmaBuffer.isDmaBuffer(buf.subarray(4))).toBe(true);
    for (const v of [null, undefined, 7, 'x', {}, new Uint8Array(4), Object.create(buf)]) {
      expect(DmaBuffer.isDmaBuffer(v)).toBe(false);
    }
    const message = (v: unknown) => {
      try {
        assertDmaBuffer(v, 'writeAll()');
      } catch (e) {
        expect(e).toBeInstanceOf(TypeError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message(buf)).toBe('accepted');
    expect(message(new Uint8Array(4))).toMatch(/^writeAll\(\) takes a DmaBuffer, not a host Uint8Array: /);
    expect(message(null)).toMatch(/^writeAll\(\) takes a DmaBuffer, not null: /);
    expect(message(Object.create(buf))).toMatch(/not an object made to look like one: /);
    expect(message(12)).toMatch(/not a number: /);
    expect(message(undefined)).toMatch(/not undefined: /);
    expect(message({ address: ARENA, length: 4 })).toMatch(/not a plain object: /);
    expect(message(new Uint8Array(1))).toContain('allocate one with board.alloc(length)');
    await board.close();
  });

  it('cannot be constructed, changed or extended by a caller', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(16);
    const Ctor = DmaBuffer as unknown as new (k: symbol, v: object) => DmaBuffer;
    expect(() => new Ctor(Symbol('DmaBuffer construction'), {})).toThrow(
      /comes from board.alloc\(\) or buffer.subarray\(\)/,
    );
    expect(Object.isFrozen(buf)).toBe(true);
    expect(Object.isFrozen(buf.subarray(1))).toBe(true);
    await board.close();
  });

  it('has the address, length and kind of what it views', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(64);
    expect(buf.length).toBe(64);
    expect(buf.isAllocation).toBe(true);
    const view = buf.subarray(8, 40);
    expect(view.length).toBe(32);
    expect(view.address).toBe(buf.address + 8);
    expect(view.isAllocation).toBe(false);
    // A view of a view adds its offset; the end defaults to the view's own end.
    const inner = view.subarray(4);
    expect(inner.address).toBe(buf.address + 12);
    expect(inner.length).toBe(28);
    expect(buf.subarray(0).length).toBe(64);
    expect(buf.subarray(63).length).toBe(1);
    await board.close();
  });
});

describe('DmaBuffer: bounds', () => {
  it('subarray takes only non-empty integer ranges inside the buffer', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(16);
    for (const [s, e] of [
      [-1, 4],
      [0, 17],
      [4, 4],
      [5, 4],
      [1.5, 4],
      [0, 3.5],
      [16, 16],
    ] as const) {
      expect(() => buf.subarray(s, e), `${s}, ${e}`).toThrow(RangeError);
    }
    expect(() => buf.subarray(0, 17)).toThrow('subarray(0, 17) is not a non-empty range of a 16-byte buffer');
    expect(buf.subarray(0, 16).length).toBe(16);
    await board.close();
  });

  it('writes land at the view, up to its last byte and not beyond, refused before anything is sent', async () => {
    const { board, fake } = await openBoardOnFake();
    const buf = board.alloc(16);
    const view = buf.subarray(4, 12);
    const offset = buf.address - ARENA;
    await view.write(Uint8Array.of(1, 2, 3), 5);
    expect([...fake.arena.subarray(offset + 9, offset + 12)]).toEqual([1, 2, 3]);
    const sent = fake.received.length;
    await expect(view.write(Uint8Array.of(1, 2, 3, 4), 5)).rejects.toThrow(
      'writing 4 bytes at offset 5 overflows a 8-byte buffer',
    );
    await expect(view.write(Uint8Array.of(1), -1)).rejects.toThrow(RangeError);
    await expect(view.write(Uint8Array.of(1), 0.5)).rejects.toThrow(RangeError);
    await expect(view.write(Uint8Array.of(1), 8)).rejects.toThrow(RangeError);
    // Nothing to write is nothing sent.
    await view.write(new Uint8Array(0), 8);
    expect(fake.received.length).toBe(sent);
    await board.close();
  });

  it('reads the view, from an offset, a length, or nothing, refused before anything is sent', async () => {
    const { board, fake } = await openBoardOnFake();
    const buf = board.alloc(16);
    await buf.write(Uint8Array.from({ length: 16 }, (_, i) => i + 1));
    const view = buf.subarray(4, 12);
    expect([...(await view.read())]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect([...(await view.read(6))]).toEqual([11, 12]);
    expect([...(await view.read(2, 3))]).toEqual([7, 8, 9]);
    const sent = fake.received.length;
    expect((await view.read(8)).length).toBe(0);
    expect((await view.read(3, 0)).length).toBe(0);
    expect(fake.received.length).toBe(sent);
    await expect(view.read(2, 7)).rejects.toThrow('reading 7 bytes at offset 2 overflows a 8-byte buffer');
    await expect(view.read(-1)).rejects.toThrow('read(-1, 9) is not a range of a 8-byte buffer');
    await expect(view.read(0, -1)).rejects.toThrow(RangeError);
    await expect(view.read(0.5, 1)).rejects.toThrow(RangeError);
    await expect(view.read(0, 1.5)).rejects.toThrow(RangeError);
    await expect(view.read(9)).rejects.toThrow(RangeError);
    expect(fake.received.length).toBe(sent);
    await board.close();
  });
});

describe('DmaBuffer: free and dispose', () => {
  it('frees only the allocation, once, and every view goes with it', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(32);
    const view = buf.subarray(8);
    expect(() => view.free()).toThrow(/free\(\) the DmaBuffer that board.alloc\(\) returned/);
    expect(view.usable).toBe(true);
    expect(board.arenaUsage().owned).toBe(32);
    buf.free();
    expect(board.arenaUsage().owned).toBe(0);
    expect(buf.usable).toBe(false);
    expect(view.usable).toBe(false);
    expect(() => buf.free()).toThrow(BufferFreedError);
    await expect(view.read()).rejects.toThrow(/no longer valid: its memory was freed/);
    expect(() => view.subarray(1)).toThrow(BufferFreedError);
    await board.close();
  });

  it('dispose frees an allocation, leaves a view alone and does nothing the second time', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(32);
    const view = buf.subarray(8);
    view[Symbol.dispose]();
    expect(buf.usable).toBe(true);
    expect(board.arenaUsage().owned).toBe(32);
    buf[Symbol.dispose]();
    expect(board.arenaUsage().owned).toBe(0);
    expect(() => buf[Symbol.dispose]()).not.toThrow();
    await board.close();
  });

  it('is unusable once a reset voided it', async () => {
    const { board, fake } = await openBoardOnFake();
    const buf = board.alloc(32);
    fake.reset();
    await expect(board.ping()).rejects.toThrow();
    await board.recover();
    expect(buf.usable).toBe(false);
    await expect(buf.read()).rejects.toBeInstanceOf(RevokedError);
    await board.close();
  });
});

describe('DmaBuffer: lent to a DMA operation', () => {
  it('moves the buffer, locks every view, and hands a fresh owner back', async () => {
    const { board } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const buf = board.alloc(32);
    const view = buf.subarray(4, 12);
    const seen: [number, number][] = [];
    const loan = lendBuffer(view, 'readExact()', { ledger, name }, (a, l) => seen.push([a, l]));
    expect(seen).toEqual([[buf.address + 4, 8]]);
    expect(loan.length).toBe(8);
    expect(loan.aim(ledger, 1)).toEqual({ address: buf.address + 4, length: 8 });
    expect(loan.aim(ledger, 1, 2, 3)).toEqual({ address: buf.address + 6, length: 3 });
    expect(view.usable).toBe(false);
    await expect(view.read()).rejects.toBeInstanceOf(MovedError);
    await expect(view.read()).rejects.toThrow(
      'this DmaBuffer was moved by readExact(); use the buffer that the Transfer handed back from wait() or stop()',
    );
    // Another view of the same allocation is busy, not moved.
    await expect(buf.read()).rejects.toBeInstanceOf(BufferBusyError);
    expect(() => buf.free()).toThrow(/owned by the Transfer that readExact\(\) started/);
    expect(board.arenaUsage().inTransfer).toBe(32);
    const back = loan.handBack();
    expect(back).not.toBe(view);
    expect(back.address).toBe(view.address);
    expect(back.length).toBe(8);
    expect(back.usable).toBe(true);
    expect(view.usable).toBe(false);
    expect(buf.usable).toBe(true);
    expect(board.arenaUsage().owned).toBe(32);
    await board.close();
  });

  it('restore makes the very buffer usable again; a refused check moves nothing', async () => {
    const { board } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const buf = board.alloc(16);
    expect(() =>
      lendBuffer(buf, 'writeAll()', { ledger, name }, () => {
        throw new RangeError('too long');
      }),
    ).toThrow('too long');
    expect(buf.usable).toBe(true);
    const loan = lendBuffer(buf, 'writeAll()', { ledger, name });
    expect(buf.usable).toBe(false);
    loan.restore();
    expect(buf.usable).toBe(true);
    expect(board.arenaUsage().owned).toBe(16);
    await board.close();
  });

  it('gives back and frees an allocation, but only gives back a view', async () => {
    const { board } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const a = board.alloc(16);
    lendBuffer(a, 'writeAll()', { ledger, name }).giveBackAndFree();
    expect(board.arenaUsage().owned).toBe(0);
    expect(board.arenaUsage().buffers).toBe(0);
    const b = board.alloc(16);
    lendBuffer(b.subarray(2), 'writeAll()', { ledger, name }).giveBackAndFree();
    expect(b.usable).toBe(true);
    expect(board.arenaUsage().owned).toBe(16);
    await board.close();
  });

  it('doubt and leak keep the memory from everyone until the board says', async () => {
    const { board } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const a = board.alloc(16);
    const b = board.alloc(16);
    lendBuffer(a, 'writeAll()', { ledger, name }).doubt('the reply was lost');
    lendBuffer(b, 'readExact()', { ledger, name }).leak();
    const usage = board.arenaUsage();
    expect(usage.inDoubt).toBe(16);
    expect(usage.leaked).toBe(16);
    await expect(a.read()).rejects.toBeInstanceOf(MovedError);
    await board.close();
  });

  it('is never aimed by another board, nor lent to one', async () => {
    const one = await openBoardOnFake();
    const two = await openBoardOnFake();
    const mine = boardInternals(one.board);
    const theirs = boardInternals(two.board);
    const buf = one.board.alloc(16);
    expect(() => lendBuffer(buf, 'writeAll()', { ledger: theirs.ledger, name: 'the other board' })).toThrow(
      ForeignBufferError,
    );
    expect(buf.usable).toBe(true);
    const loan = lendBuffer(buf, 'writeAll()', { ledger: mine.ledger, name: mine.name });
    expect(() => loan.aim(theirs.ledger, 1)).toThrow(ForeignBufferError);
    await one.board.close();
    await two.board.close();
  });
});

describe('DmaBuffer: the rest of its edges', () => {
  it('names a plain object, one without a prototype, and one of another class', () => {
    const message = (v: unknown) => {
      try {
        assertDmaBuffer(v, 'writeAll()');
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message(Object.create(null))).toMatch(/^writeAll\(\) takes a DmaBuffer, not a plain object: /);
    expect(message(new Map())).toMatch(/^writeAll\(\) takes a DmaBuffer, not an object of another class: /);
    expect(message(new Map())).toBe(
      'writeAll() takes a DmaBuffer, not an object of another class: allocate one with board.alloc(length) and ' +
        'copy data in with buffer.write()',
    );
  });

  it('another view of memory in doubt or leaked is busy, naming who holds it', async () => {
    const { board } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const a = board.alloc(16);
    const b = board.alloc(16);
    const [viewA, viewB] = [a.subarray(0, 8), b.subarray(0, 8)];
    lendBuffer(a, 'writeAll()', { ledger, name }).doubt('the reply was lost');
    lendBuffer(b, 'readExact()', { ledger, name }).leak();
    await expect(viewA.read()).rejects.toThrow(new BufferBusyError('writeAll(): the reply was lost'));
    await expect(viewB.read()).rejects.toThrow(
      new BufferBusyError('readExact(), dropped before it finished'),
    );
    await board.close();
  });

  it('write takes only a Uint8Array, naming the call', async () => {
    const { board } = await openBoardOnFake();
    const buf = board.alloc(16);
    await expect(buf.write('text' as unknown as Uint8Array)).rejects.toThrow(
      'buffer.write() takes a Uint8Array, not string: encode text first, e.g. new TextEncoder().encode(text)',
    );
    await board.close();
  });

  it('an aborted signal keeps a write, of the buffer or of lent memory, off the board', async () => {
    const { board, fake } = await openBoardOnFake();
    const { ledger, name } = boardInternals(board);
    const buf = board.alloc(16);
    const signal = AbortSignal.abort(new Error('stopped'));
    const before = fake.received.length;
    await expect(buf.write(Uint8Array.of(1), 0, { signal })).rejects.toThrow('stopped');
    const loan = lendBuffer(buf, 'writeAll()', { ledger, name });
    await expect(loan.write(Uint8Array.of(1), 0, { signal })).rejects.toThrow('stopped');
    expect(fake.received.length).toBe(before);
    await loan.write(Uint8Array.of(7), 3);
    expect(fake.arena[buf.address - ARENA + 3]).toBe(7);
    await board.close();
  });

  it('a BufferLoan is made by lendBuffer() only', () => {
    const Ctor = BufferLoan as unknown as new (k: symbol) => BufferLoan;
    expect(() => new Ctor(Symbol('BufferLoan'))).toThrow(
      new TypeError('a BufferLoan comes from lendBuffer()'),
    );
  });
});
