/**
 * The ledger of the board's DMA arena: the one record of what every byte of
 * it is for. Every region is in exactly one state:
 *
 * - free: the allocator may hand it out;
 * - owned: a DmaBuffer holds it and no DMA uses it;
 * - lent: a transfer (or a circular reception, or a stream writer) holds it
 *   and may aim a DMA channel at it;
 * - in doubt: a DMA may be running on it and nothing will hear when it stops
 *   (a start whose answer never came, a link that failed under a running
 *   transfer, a session revoked while it was lent, a raw start);
 * - leaked: lent to a transfer that was dropped before it finished.
 *
 * Only the transitions below change a state, and a region a DMA may use
 * becomes free only on the board's word: a completion or a stop it
 * confirmed (lent → owned, then free() frees it), or a confirmation that
 * every channel is off (RESET_PERIPHERALS answered, a new session opened),
 * which frees what was in doubt or leaked before it. News of a reset is no
 * such word: it may be a frame of an older boot, delayed on the line.
 *
 * A DMA is aimed only at memory the ledger lent for it: `aim()` is the one
 * place that turns a loan into an address and a length, from the ledger's
 * own records, never from an object a caller holds.
 */

import { ArenaAllocator, ArenaExhaustedError, type ArenaRange } from './arena-allocator.ts';
import { LedgerError } from './ledger-errors.ts';

export type RegionState = 'free' | 'owned' | 'lent' | 'in-doubt' | 'leaked';

/** One region of the arena as the ledger saw it at one instant. */
export interface RegionSnapshot {
  readonly address: number;
  readonly length: number;
  readonly state: RegionState;
  /** Who holds it: the call a transfer was started by, or why it is in doubt. */
  readonly holder?: string;
}

/** Bytes of the arena in each state; they add up to the arena's size. */
export interface ArenaUsage {
  readonly free: number;
  readonly owned: number;
  /** Lent to a transfer, a circular reception or a stream writer. */
  readonly inTransfer: number;
  readonly inDoubt: number;
  readonly leaked: number;
  /** Allocations that are not free (owned, lent, in doubt or leaked), raw starts' ranges excluded. */
  readonly buffers: number;
  readonly largestFree: number;
}

/**
 * @internal a region's record. Only this module changes it; buffers and
 * loans hold it in private fields.
 */
export interface Region {
  readonly address: number;
  readonly length: number;
  readonly ledger: ArenaLedger;
  /** The handle generation it was allocated in (revocations end it). */
  readonly generation: number;
  state: Exclude<RegionState, 'free'>;
  holder: string | undefined;
  /**
   * The loan it is lent under, while lent: set by lend() and cleared by
   * every way out of 'lent', so a loan is live exactly while its region,
   * still this ledger's, names it (#lentUnder).
   */
  loan: Loan | undefined;
  /** True for a range a raw start made busy (no DmaBuffer holds it). */
  readonly raw: boolean;
}

/**
 * @internal a region lent for a DMA: what a transfer holds instead of an
 * address. Held in private fields only.
 */
export interface Loan {
  readonly region: Region;
  /** The part of the region the DMA may cover (a view's bytes). */
  readonly offset: number;
  readonly length: number;
  readonly by: string;
  /** The DMA channel it was first aimed at (a loan serves one channel). */
  channel: number | undefined;
  /** Why the loan ended under its holder: a revocation (reset, new session), thrown again at its next use. */
  endedBy: Error | undefined;
}

export class ArenaLedger {
  #allocator: ArenaAllocator;
  readonly #regions = new Set<Region>();
  /** The ranges raw starts run on, by channel, and the parts of them the ledger holds for them. */
  readonly #rawBusy = new Map<number, { range: ArenaRange; regions: Region[] }>();
  readonly #generation: () => number;

  constructor(base: number, size: number, generation: () => number) {
    this.#allocator = new ArenaAllocator(base, size);
    this.#generation = generation;
  }

  get base(): number {
    return this.#allocator.base;
  }

  get size(): number {
    return this.#allocator.size;
  }

  // ------------------------------------------------------------ transitions

  /** free → owned. */
  allocate(length: number, align: number): Region {
    let range: ArenaRange;
    try {
      range = this.#allocator.allocate(length, align);
    } catch (e) {
      if (!(e instanceof ArenaExhaustedError)) throw e;
      const u = this.usage();
      throw new ArenaExhaustedError(length, u.largestFree, {
        owned: u.owned,
        inTransfer: u.inTransfer,
        inDoubt: u.inDoubt,
        leaked: u.leaked,
      });
    }
    const region: Region = {
      address: range.address,
      length: range.length,
      ledger: this,
      generation: this.#generation(),
      state: 'owned',
      holder: undefined,
      loan: undefined,
      raw: false,
    };
    this.#regions.add(region);
    return region;
  }

  /** owned → free (free()). */
  release(region: Region): void {
    this.#expect(region, 'owned', 'free it');
    this.#drop(region);
  }

  /** owned → lent, for a DMA covering [offset, offset + length) of the region. */
  lend(region: Region, offset: number, length: number, by: string): Loan {
    this.#expect(region, 'owned', 'lend it');
    if (offset < 0 || length <= 0 || offset + length > region.length) {
      throw new LedgerError(
        `a loan of ${length} bytes at offset ${offset} does not fit a ${region.length}-byte region`,
      );
    }
    const loan: Loan = { region, offset, length, by, channel: undefined, endedBy: undefined };
    region.state = 'lent';
    region.holder = by;
    region.loan = loan;
    return loan;
  }

  /**
   * The one place a DMA's memory comes from: the address and length of the
   * part `[offset, offset + length)` of what `loan` lent, checked against
   * the ledger's record. Throws unless the region is lent under this loan
   * now and the loan serves `channel`.
   */
  aim(loan: Loan, channel: number, offset = 0, length = loan.length): { address: number; length: number } {
    const range = this.locate(loan, offset, length);
    if (loan.channel !== undefined && loan.channel !== channel) {
      throw new LedgerError(
        `memory lent to DMA1 channel ${loan.channel} was aimed at channel ${channel} (${loan.by})`,
      );
    }
    loan.channel = channel;
    return range;
  }

  /** The address of `[offset, offset + length)` of what `loan` lent; throws unless it is lent under it now. */
  locate(loan: Loan, offset = 0, length = loan.length): { address: number; length: number } {
    const region = loan.region;
    if (!this.#lentUnder(loan)) {
      // A loan a revocation ended fails as the revocation did (the holder learns the board reset).
      if (loan.endedBy !== undefined) throw loan.endedBy;
      throw new LedgerError(`memory was used that the ledger has not lent for it (${loan.by})`);
    }
    const whole = Number.isInteger(offset) && Number.isInteger(length);
    if (!whole || offset < 0 || length <= 0 || offset + length > loan.length) {
      throw new LedgerError(`${length} bytes at offset ${offset} overflow a ${loan.length}-byte loan`);
    }
    return { address: region.address + loan.offset + offset, length };
  }

  /**
   * lent → owned: the board confirmed the DMA done or stopped, or refused
   * its start. Returns false (and changes nothing) when the loan is no
   * longer the region's: a revocation put it in doubt meanwhile.
   */
  giveBack(loan: Loan): boolean {
    const region = loan.region;
    if (!this.#lentUnder(loan)) return false;
    region.state = 'owned';
    region.holder = undefined;
    region.loan = undefined;
    return true;
  }

  /** lent → in doubt: a DMA may run on it and nothing will say when it stops. */
  doubt(loan: Loan, why: string): void {
    const region = loan.region;
    if (!this.#lentUnder(loan)) return;
    region.state = 'in-doubt';
    region.holder = `${loan.by}: ${why}`;
    region.loan = undefined;
  }

  /** lent → leaked: the transfer holding it was dropped before it finished. */
  leak(loan: Loan): void {
    const region = loan.region;
    if (!this.#lentUnder(loan)) return;
    region.state = 'leaked';
    region.holder = `${loan.by}, dropped before it finished`;
    region.loan = undefined;
  }

  /**
   * Every handle from before generation `generation` was revoked: owned
   * regions of those generations go free (no DMA uses them, and nobody may
   * use their buffers now), lent ones go in doubt until the board confirms
   * its channels off.
   */
  revoked(generation: number, reason?: Error): void {
    for (const region of [...this.#regions]) {
      if (region.generation >= generation || region.raw) continue;
      if (region.state === 'owned') this.#drop(region);
      else if (region.state === 'lent') {
        // A lent region always has its loan: its holder learns why it ended.
        const loan = region.loan!;
        loan.endedBy = reason;
        region.state = 'in-doubt';
        region.holder = `${loan.by}, revoked while lent`;
        region.loan = undefined;
      }
    }
  }

  /**
   * The board confirmed every DMA channel off (RESET_PERIPHERALS answered,
   * a new session opened) after generation
   * `generation` began: what was in doubt or leaked before it, and every
   * raw start's range, is free again.
   */
  boardIdle(generation: number): void {
    for (const region of [...this.#regions]) {
      if (region.raw) continue;
      if (region.generation >= generation) continue;
      if (region.state === 'in-doubt' || region.state === 'leaked') this.#drop(region);
    }
    for (const channel of [...this.#rawBusy.keys()]) this.channelIdle(channel);
  }

  /**
   * A raw write started DMA1 channel `channel` over `range` (as read back
   * from the board): the part of it the ledger had free is in doubt until
   * the channel is seen off. Memory already held keeps its state, and joins
   * the raw start's doubt when it is given back while the channel runs.
   */
  rawStart(channel: number, range: ArenaRange): void {
    this.channelIdle(channel);
    const raw = { range, regions: [] };
    this.#rawBusy.set(channel, raw);
    this.#claimForRaw(channel, raw);
  }

  /** The board showed DMA1 channel `channel` off (or done): a raw start's range on it is free. */
  channelIdle(channel: number): void {
    const raw = this.#rawBusy.get(channel);
    if (!raw) return;
    this.#rawBusy.delete(channel);
    for (const r of raw.regions) this.#drop(r);
  }

  /** Takes what is free of channel `channel`'s raw range into regions in doubt. */
  #claimForRaw(channel: number, raw: { range: ArenaRange; regions: Region[] }): void {
    for (const r of this.#allocator.claimRange(raw.range.address, raw.range.length)) {
      const region: Region = {
        address: r.address,
        length: r.length,
        ledger: this,
        generation: this.#generation(),
        state: 'in-doubt',
        holder: `a raw start of DMA1 channel ${channel}`,
        loan: undefined,
        raw: true,
      };
      this.#regions.add(region);
      raw.regions.push(region);
    }
  }

  // ------------------------------------------------------------ questions

  /** True when `region` is this ledger's and in `state`. */
  isIn(region: Region, state: Exclude<RegionState, 'free'>): boolean {
    return this.#regions.has(region) && region.state === state;
  }

  /** The regions (not free) that overlap `[address, address + length)`. */
  overlapping(address: number, length: number): RegionSnapshot[] {
    return this.snapshot().filter(
      (r) => r.state !== 'free' && r.address < address + length && address < r.address + r.length,
    );
  }

  usage(): ArenaUsage {
    let owned = 0;
    let inTransfer = 0;
    let inDoubt = 0;
    let leaked = 0;
    let buffers = 0;
    for (const r of this.#regions) {
      if (!r.raw) buffers++;
      if (r.state === 'owned') owned += r.length;
      else if (r.state === 'lent') inTransfer += r.length;
      else if (r.state === 'in-doubt') inDoubt += r.length;
      else leaked += r.length;
    }
    const held = owned + inTransfer + inDoubt + leaked;
    return {
      free: this.size - held,
      owned,
      inTransfer,
      inDoubt,
      leaked,
      buffers,
      largestFree: this.#allocator.largestFree(),
    };
  }

  /** Every region, free ones included, by address: a copy, never the records themselves. */
  snapshot(): RegionSnapshot[] {
    const out: RegionSnapshot[] = this.#allocator
      .freeRanges()
      .map((r) => Object.freeze({ address: r.address, length: r.length, state: 'free' as const }));
    for (const r of this.#regions) {
      out.push(
        Object.freeze({
          address: r.address,
          length: r.length,
          state: r.state,
          ...(r.holder === undefined ? {} : { holder: r.holder }),
        }),
      );
    }
    return out.sort((a, b) => a.address - b.address);
  }

  /** Free blocks and held regions, as the allocator sees them. */
  ranges(): { free: ArenaRange[]; live: ArenaRange[] } {
    return { free: this.#allocator.freeRanges(), live: this.#allocator.liveRanges() };
  }

  // ------------------------------------------------------------ plumbing

  /** True while `loan` is the loan its region, one of this ledger's, is lent under. */
  #lentUnder(loan: Loan): boolean {
    return this.#regions.has(loan.region) && loan.region.loan === loan;
  }

  #expect(region: Region, state: Exclude<RegionState, 'free'>, what: string): void {
    if (!this.#regions.has(region)) {
      throw new LedgerError(`cannot ${what}: the region at 0x${region.address.toString(16)} is not held`);
    }
    if (region.state !== state) {
      // Only owned regions have no holder, and no transition starts anywhere else.
      throw new LedgerError(
        `cannot ${what}: the region at 0x${region.address.toString(16)} is ${region.state} (${region.holder})`,
      );
    }
  }

  /** Drops a region that is not lent (owned, in doubt, leaked): lent memory goes back only through its loan. */
  #drop(region: Region): void {
    this.#regions.delete(region);
    this.#allocator.release({ address: region.address, length: region.length });
    // Memory under a raw start that still runs is never handed out again,
    // nor is what another raw start held there when that one is seen off.
    for (const [channel, raw] of this.#rawBusy) this.#claimForRaw(channel, raw);
  }
}
