/**
 * The ledger's loans at their edges: a loan's bounds, a loan that is no
 * longer the region's (given back, doubted, leaked, revoked, freed), and
 * which generations a revocation or the board's word reaches.
 */
import { describe, expect, it } from 'vitest';
import { ArenaLedger } from './ledger.ts';
import { LedgerError } from './ledger-errors.ts';

const BASE = 0x2000_1000;

function ledger(size = 1024) {
  let generation = 0;
  const l = new ArenaLedger(BASE, size, () => generation);
  return {
    l,
    next: () => {
      generation++;
      return generation;
    },
  };
}

const states = (l: ArenaLedger) =>
  l.snapshot().map((r) => `${r.state}@${(r.address - BASE).toString()}+${r.length}`);

describe('ArenaLedger loans', () => {
  it('lends exactly the part asked for, and nothing outside the region', () => {
    const { l } = ledger();
    const r = l.allocate(64, 4);
    expect(() => l.lend(r, -1, 8, 'x')).toThrow(LedgerError);
    expect(() => l.lend(r, 0, 0, 'x')).toThrow(LedgerError);
    expect(() => l.lend(r, 0, -4, 'x')).toThrow(LedgerError);
    expect(() => l.lend(r, 60, 8, 'x')).toThrow(/does not fit a 64-byte region/);
    // A refused loan leaves the region owned.
    expect(l.isIn(r, 'owned')).toBe(true);
    const loan = l.lend(r, 56, 8, 'writeAll()');
    expect(l.isIn(r, 'lent')).toBe(true);
    expect(l.locate(loan)).toEqual({ address: BASE + 56, length: 8 });
    expect(l.snapshot().find((s) => s.state === 'lent')?.holder).toBe('writeAll()');
  });

  it('locates only whole, non-empty parts inside the loan', () => {
    const { l } = ledger();
    const loan = l.lend(l.allocate(32, 4), 8, 16, 'readExact()');
    expect(l.locate(loan, 4, 12)).toEqual({ address: BASE + 12, length: 12 });
    expect(l.locate(loan, 15, 1)).toEqual({ address: BASE + 23, length: 1 });
    for (const [offset, length] of [
      [0.5, 4],
      [0, 4.5],
      [-1, 4],
      [0, 0],
      [0, -1],
      [4, 13],
      [16, 1],
    ] as const) {
      expect(() => l.locate(loan, offset, length), `${offset}, ${length}`).toThrow(/overflow a 16-byte loan/);
    }
  });

  it('a loan given back, doubted or leaked cannot aim a DMA any more', () => {
    for (const end of ['giveBack', 'doubt', 'leak'] as const) {
      const { l } = ledger();
      const r = l.allocate(16, 4);
      const loan = l.lend(r, 0, 16, 'writeAll()');
      if (end === 'giveBack') expect(l.giveBack(loan)).toBe(true);
      else if (end === 'doubt') l.doubt(loan, 'no reply');
      else l.leak(loan);
      expect(() => l.locate(loan), end).toThrow(/has not lent for it/);
      expect(() => l.aim(loan, 1), end).toThrow(/has not lent for it/);
    }
  });

  it('a second loan of the same region does not answer for the first', () => {
    const { l } = ledger();
    const r = l.allocate(16, 4);
    const first = l.lend(r, 0, 16, 'first');
    expect(l.giveBack(first)).toBe(true);
    const second = l.lend(r, 0, 16, 'second');
    // The first loan is over: nothing it says changes the second.
    expect(l.giveBack(first)).toBe(false);
    l.doubt(first, 'late');
    l.leak(first);
    expect(l.isIn(r, 'lent')).toBe(true);
    expect(() => l.locate(first)).toThrow(LedgerError);
    expect(l.locate(second)).toEqual({ address: BASE, length: 16 });
  });

  it('doubt and leak name the transfer, and end the loan once', () => {
    const { l } = ledger();
    const a = l.allocate(16, 4);
    const b = l.allocate(16, 4);
    const la = l.lend(a, 0, 16, 'readExact()');
    const lb = l.lend(b, 0, 16, 'writeAll()');
    l.doubt(la, 'no reply came');
    l.leak(lb);
    const held = l.snapshot().filter((s) => s.state !== 'free');
    expect(held.map((s) => [s.state, s.holder])).toEqual([
      ['in-doubt', 'readExact(): no reply came'],
      ['leaked', 'writeAll(), dropped before it finished'],
    ]);
    // Later word about the same loans changes nothing.
    expect(l.giveBack(la)).toBe(false);
    expect(l.giveBack(lb)).toBe(false);
    l.leak(la);
    l.doubt(lb, 'again');
    expect(l.isIn(a, 'in-doubt')).toBe(true);
    expect(l.isIn(b, 'leaked')).toBe(true);
  });

  it('a loan of a region revoked, or freed under a new generation, is void', () => {
    const { l, next } = ledger();
    const r = l.allocate(16, 4);
    const loan = l.lend(r, 0, 16, 'readExact()');
    l.revoked(next());
    expect(l.isIn(r, 'in-doubt')).toBe(true);
    expect(l.snapshot().find((s) => s.state === 'in-doubt')?.holder).toBe('readExact(), revoked while lent');
    expect(l.giveBack(loan)).toBe(false);
    expect(() => l.locate(loan)).toThrow(LedgerError);
  });

  it('revocation reaches only the generations before it', () => {
    const { l, next } = ledger();
    const old = l.allocate(16, 4);
    const g = next();
    const fresh = l.allocate(16, 4);
    const freshLoan = l.lend(fresh, 0, 16, 'new');
    l.revoked(g);
    expect(states(l)).toEqual(['free@0+16', 'lent@16+16', 'free@32+992']);
    expect(l.isIn(old, 'owned')).toBe(false);
    expect(l.locate(freshLoan)).toEqual({ address: BASE + 16, length: 16 });
    // Lent memory of a generation before the revocation goes in doubt, owned memory of it free.
    const g2 = next();
    l.revoked(g2 + 1);
    expect(states(l)).toEqual(['free@0+16', 'in-doubt@16+16', 'free@32+992']);
  });

  it("the board's word frees only what was in doubt or leaked before its generation", () => {
    const { l, next } = ledger();
    const a = l.allocate(16, 4);
    const b = l.allocate(16, 4);
    l.doubt(l.lend(a, 0, 16, 'a'), 'no reply');
    l.leak(l.lend(b, 0, 16, 'b'));
    const g = next();
    const c = l.allocate(16, 4);
    l.doubt(l.lend(c, 0, 16, 'c'), 'no reply');
    const owned = l.allocate(16, 4);
    l.boardIdle(g);
    expect(states(l)).toEqual(['free@0+32', 'in-doubt@32+16', 'owned@48+16', 'free@64+960']);
    l.boardIdle(g + 1);
    expect(states(l)).toEqual(['free@0+48', 'owned@48+16', 'free@64+960']);
    expect(l.isIn(owned, 'owned')).toBe(true);
  });

  it('a raw start keeps its range out of the allocator until the channel is seen off, across revocations', () => {
    const { l, next } = ledger(256);
    l.rawStart(2, { address: BASE + 64, length: 32 });
    expect(l.usage().inDoubt).toBe(32);
    expect(l.usage().buffers).toBe(0);
    l.revoked(next());
    expect(l.usage().inDoubt).toBe(32);
    expect(l.overlapping(BASE + 90, 10).map((r) => r.holder)).toEqual(['a raw start of DMA1 channel 2']);
    expect(l.overlapping(BASE + 96, 10)).toEqual([]);
    expect(l.overlapping(BASE + 54, 10)).toEqual([]);
    expect(l.overlapping(BASE + 54, 11)).toHaveLength(1);
    l.channelIdle(1);
    expect(l.usage().inDoubt).toBe(32);
    l.channelIdle(2);
    expect(l.usage()).toMatchObject({ free: 256, inDoubt: 0 });
  });

  it("one raw start seen off leaves another's range held, where the two ranges overlapped too", () => {
    const { l } = ledger(256);
    // Channel 1's start could not be read back: the whole arena is held for it.
    l.rawStart(1, { address: BASE, length: 256 });
    l.rawStart(2, { address: BASE + 64, length: 32 });
    l.channelIdle(1);
    expect(states(l)).toEqual(['free@0+64', 'in-doubt@64+32', 'free@96+160']);
    expect(l.overlapping(BASE + 64, 32).map((r) => r.holder)).toEqual(['a raw start of DMA1 channel 2']);
    expect(() => l.allocate(256, 4)).toThrow();
    l.channelIdle(2);
    expect(states(l)).toEqual(['free@0+256']);
  });

  it('a loan of another ledger is not this ledger’s to aim, give back, doubt or leak', () => {
    const mine = ledger();
    const theirs = ledger();
    const region = theirs.l.allocate(16, 4);
    const loan = theirs.l.lend(region, 0, 16, 'writeAll()');
    expect(() => mine.l.aim(loan, 1)).toThrow(LedgerError);
    expect(() => mine.l.locate(loan)).toThrow(
      'memory was used that the ledger has not lent for it (writeAll())',
    );
    expect(mine.l.giveBack(loan)).toBe(false);
    mine.l.doubt(loan, 'no reply');
    mine.l.leak(loan);
    expect(states(theirs.l)).toEqual(['lent@0+16', 'free@16+1008']);
    expect(theirs.l.aim(loan, 1)).toEqual({ address: BASE, length: 16 });
  });

  it('counts usage by state; the states add up to the arena', () => {
    const { l } = ledger(256);
    const a = l.allocate(16, 4);
    l.lend(l.allocate(32, 4), 0, 32, 'x');
    l.doubt(l.lend(l.allocate(8, 4), 0, 8, 'y'), 'z');
    l.leak(l.lend(l.allocate(4, 4), 0, 4, 'w'));
    expect(l.usage()).toEqual({
      free: 256 - 60,
      owned: 16,
      inTransfer: 32,
      inDoubt: 8,
      leaked: 4,
      buffers: 4,
      largestFree: 256 - 60,
    });
    l.release(a);
    expect(l.usage().owned).toBe(0);
    // A length the allocator cannot take is the caller's mistake, not an exhausted arena.
    expect(() => l.allocate(0, 4)).toThrow(RangeError);
    expect(() => l.allocate(0, 4)).not.toThrow(/arena/);
    expect(() => l.release(a)).toThrow(/is not held/);
  });
});
