import { describe, expect, it } from 'vitest';
import { ArenaExhaustedError } from './arena-allocator.ts';
import { ArenaLedger, type RegionState } from './ledger.ts';
import { LedgerError } from './ledger-errors.ts';

const BASE = 0x2000_4000;
const SIZE = 0x1000;

function ledger(): { l: ArenaLedger; gen: { value: number } } {
  const gen = { value: 0 };
  return { l: new ArenaLedger(BASE, SIZE, () => gen.value), gen };
}

function states(l: ArenaLedger): [number, number, RegionState][] {
  return l.snapshot().map((r) => [r.address - BASE, r.length, r.state]);
}

describe('ArenaLedger', () => {
  it('accounts every byte: the states add up to the arena', () => {
    const { l } = ledger();
    const a = l.allocate(256, 4);
    const b = l.allocate(128, 4);
    const c = l.allocate(64, 4);
    l.lend(b, 0, 128, 'readExact()');
    const loan = l.lend(c, 0, 64, 'writeAll()');
    l.doubt(loan, 'no answer');
    expect(l.usage()).toEqual({
      free: SIZE - 448,
      owned: 256,
      inTransfer: 128,
      inDoubt: 64,
      leaked: 0,
      buffers: 3,
      largestFree: SIZE - 448,
    });
    expect(states(l)).toEqual([
      [0, 256, 'owned'],
      [256, 128, 'lent'],
      [384, 64, 'in-doubt'],
      [448, SIZE - 448, 'free'],
    ]);
    l.release(a);
    expect(l.usage().free).toBe(SIZE - 192);
  });

  it('aims a DMA only at memory lent under the loan, within it, on one channel', () => {
    const { l } = ledger();
    const r = l.allocate(64, 4);
    const loan = l.lend(r, 16, 32, 'readExact()');
    expect(l.aim(loan, 1)).toEqual({ address: BASE + 16, length: 32 });
    expect(l.aim(loan, 1, 8, 8)).toEqual({ address: BASE + 24, length: 8 });
    expect(() => l.aim(loan, 2)).toThrow(
      new LedgerError('memory lent to DMA1 channel 1 was aimed at channel 2 (readExact())'),
    );
    expect(() => l.aim(loan, 1, 0, 33)).toThrow(LedgerError);
    expect(() => l.aim(loan, 1, -1, 4)).toThrow(LedgerError);
    expect(l.giveBack(loan)).toBe(true);
    // A loan given back aims nothing, even once the region is lent again.
    expect(() => l.aim(loan, 1)).toThrow(LedgerError);
    const again = l.lend(r, 0, 64, 'writeAll()');
    expect(() => l.aim(loan, 1)).toThrow(LedgerError);
    expect(l.aim(again, 1).address).toBe(BASE);
  });

  it('refuses transitions from the wrong state', () => {
    const { l } = ledger();
    const r = l.allocate(32, 4);
    const loan = l.lend(r, 0, 32, 'readExact()');
    expect(() => l.release(r)).toThrow(LedgerError);
    expect(() => l.release(r)).toThrow('cannot free it: the region at 0x20004000 is lent (readExact())');
    expect(() => l.lend(r, 0, 32, 'writeAll()')).toThrow(
      'cannot lend it: the region at 0x20004000 is lent (readExact())',
    );
    l.doubt(loan, 'no answer');
    expect(l.giveBack(loan)).toBe(false); // a late answer does not bring it back
    expect(() => l.release(r)).toThrow(
      'cannot free it: the region at 0x20004000 is in-doubt (readExact(): no answer)',
    );
    expect(l.usage().inDoubt).toBe(32);
    l.boardIdle(1);
    expect(() => l.release(r)).toThrow('cannot free it: the region at 0x20004000 is not held');
  });

  it('snapshots name a holder only where there is one', () => {
    const { l } = ledger();
    const r = l.allocate(16, 4);
    l.lend(l.allocate(16, 4), 0, 16, 'writeAll()');
    const [owned, lent, free] = l.snapshot();
    expect(Object.keys(owned!)).toEqual(['address', 'length', 'state']);
    expect(lent).toEqual({ address: BASE + 16, length: 16, state: 'lent', holder: 'writeAll()' });
    expect(Object.keys(free!)).toEqual(['address', 'length', 'state']);
    expect(Object.isFrozen(owned)).toBe(true);
    l.release(r);
  });

  it('revocation frees owned memory and puts lent memory in doubt, never free', () => {
    const { l, gen } = ledger();
    l.allocate(64, 4);
    const lent = l.allocate(64, 4);
    const loan = l.lend(lent, 0, 64, 'readCircular()');
    gen.value = 1;
    l.revoked(1);
    expect(l.usage()).toMatchObject({ owned: 0, inTransfer: 0, inDoubt: 64 });
    expect(l.giveBack(loan)).toBe(false);
    expect(l.allocate(64, 4).address).toBe(BASE); // the owned one's memory, not the lent one's
    expect(l.allocate(64, 4).address).toBe(BASE + 128);
  });

  it('a loan a revocation ended fails at its next use with the revocation, not as a ledger fault', () => {
    const { l, gen } = ledger();
    const loan = l.lend(l.allocate(64, 4), 0, 64, 'streamWriter()');
    const reset = new Error('the board reset');
    gen.value = 1;
    l.revoked(1, reset);
    expect(() => l.locate(loan)).toThrow(reset);
    // Without a reason (a bug, or a tampered loan) it stays a LedgerError.
    const other = l.lend(l.allocate(64, 4), 0, 64, 'writeAll()');
    gen.value = 2;
    l.revoked(2);
    expect(() => l.locate(other)).toThrow(LedgerError);
  });

  it("frees what was in doubt or leaked only on the board's word, and only what came before it", () => {
    const { l, gen } = ledger();
    const old = l.allocate(64, 4);
    l.doubt(l.lend(old, 0, 64, 'writeAll()'), 'no answer');
    const dropped = l.allocate(64, 4);
    l.leak(l.lend(dropped, 0, 64, 'readExact()'));
    gen.value = 1;
    l.revoked(1);
    // After the revocation, before the board answered: new memory, in doubt too.
    const fresh = l.allocate(64, 4);
    l.doubt(l.lend(fresh, 0, 64, 'readExact()'), 'no answer');
    expect(l.usage()).toMatchObject({ inDoubt: 128, leaked: 64 });
    l.boardIdle(1);
    expect(l.usage()).toMatchObject({ inDoubt: 64, leaked: 0 });
    expect(states(l)[0]).toEqual([0, 128, 'free']);
  });

  it('keeps a raw start range out of the allocator until the channel is seen off', () => {
    const { l } = ledger();
    const owned = l.allocate(64, 4);
    l.rawStart(1, { address: BASE + 32, length: 256 });
    // Only the part that was free is taken; the owned buffer stays owned.
    expect(l.usage()).toMatchObject({ owned: 64, inDoubt: 256 - 32, buffers: 1 });
    expect(l.overlapping(BASE + 100, 4)).toHaveLength(1);
    expect(l.allocate(64, 4).address).toBe(BASE + 288);
    l.channelIdle(2);
    expect(l.usage().inDoubt).toBe(224);
    l.channelIdle(1);
    expect(l.usage().inDoubt).toBe(0);
    l.release(owned);
    // Memory held when a raw start began joins its doubt when given back while it runs.
    const held = l.allocate(64, 4);
    l.rawStart(1, { address: BASE + 32, length: 64 });
    expect(l.usage()).toMatchObject({ owned: 128, inDoubt: 32 });
    l.release(held);
    expect(l.usage()).toMatchObject({ owned: 64, inDoubt: 64 });
    expect(l.allocate(32, 4).address).toBe(BASE);
    l.channelIdle(1);
    expect(l.usage().inDoubt).toBe(0);
    l.boardIdle(1);
    l.rawStart(2, { address: BASE - 16, length: SIZE + 32 }); // clipped to the arena
    expect(l.usage()).toMatchObject({ inDoubt: SIZE - 96, free: 0 });
    l.boardIdle(0);
    expect(l.usage().inDoubt).toBe(0);
  });

  it('says why the arena is exhausted: owned, lent, or in doubt that only recover() returns', () => {
    const { l } = ledger();
    l.allocate(1024, 4);
    l.lend(l.allocate(1024, 4), 0, 1024, 'readExact()');
    l.doubt(l.lend(l.allocate(1024, 4), 0, 1024, 'writeAll()'), 'no answer');
    l.leak(l.lend(l.allocate(512, 4), 0, 512, 'readExact()'));
    const error = (() => {
      try {
        l.allocate(1024, 4);
      } catch (e) {
        return e;
      }
    })() as ArenaExhaustedError;
    expect(error).toBeInstanceOf(ArenaExhaustedError);
    expect(error.message).toMatch(/1024 bytes are owned by DmaBuffers/);
    expect(error.message).toMatch(/1024 bytes are lent to running transfers/);
    expect(error.message).toMatch(
      /1536 bytes are in doubt or leaked .*1024 in doubt, 512 leaked.*only board\.recover\(\)/,
    );
    expect(error.held).toEqual({ owned: 1024, inTransfer: 1024, inDoubt: 1024, leaked: 512 });
  });
});
