/**
 * DMA1: the G0's 7-channel "channel" DMA controller (RM0444 §10).
 *
 * Each request moves one data item (read at the source size, written at the
 * destination size); CNDTR counts items down. Transfers are scheduled on the
 * virtual clock, one item per service slot of `cyclesPerItem` HCLK cycles,
 * and the arbiter picks again before every item (PL first, then the lower
 * channel number: RM0444 §10.4.4), so a higher-priority request overtakes a
 * running lower-priority channel between items.
 *
 * Writes the manual forbids while a channel is enabled are modelled as it
 * describes them (RM0444 §10.6.3–§10.6.6) and reported through `misuse`:
 * - CCR: MEM2MEM, PL, MSIZE, PSIZE, MINC, PINC and DIR are read-only while
 *   EN = 1; TCIE, HTIE, TEIE and CIRC "must not be written" but are not
 *   read-only, so the write lands.
 * - CNDTR is read-only while EN = 1: the write is lost.
 * - CPAR and CMAR "must not be written" while EN = 1 but are not read-only:
 *   the register takes the value; the transfer in progress keeps using its
 *   internal address and picks the new base up at its next circular reload.
 * - After a transfer error EN is cleared by hardware and can't be set again
 *   until TEIF is cleared (RM0444 §10.6.3, DMA_CCRx.EN; §10.4.5 words the same
 *   rule with "until the TEIFx bit is set", a slip the register description
 *   corrects).
 */
import { type AccessSize, type Bus, BusError, type MemoryMappedDevice } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { type InterruptLine, unconnectedLine } from '../core/irq.ts';
import type { BulkHook, DmaBulkPort, DmaBulkState } from './bulk-state.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const DMA1_BASE = 0x4002_0000;
export const DMA_CHANNELS = 7;

export const DMA = {
  ISR: 0x00,
  IFCR: 0x04,
  /** Channel n (1..7) registers: CCR, CNDTR, CPAR, CMAR. */
  CCR: (n: number) => 0x08 + 0x14 * (n - 1),
  CNDTR: (n: number) => 0x0c + 0x14 * (n - 1),
  CPAR: (n: number) => 0x10 + 0x14 * (n - 1),
  CMAR: (n: number) => 0x14 + 0x14 * (n - 1),
} as const;

export const CCR_EN = 1 << 0;
export const CCR_TCIE = 1 << 1;
export const CCR_HTIE = 1 << 2;
export const CCR_TEIE = 1 << 3;
export const CCR_DIR = 1 << 4;
export const CCR_CIRC = 1 << 5;
export const CCR_PINC = 1 << 6;
export const CCR_MINC = 1 << 7;
export const CCR_MEM2MEM = 1 << 14;
/** PSIZE/MSIZE encodings: 0 = 8, 1 = 16, 2 = 32 bits. */
export const ccrPsize = (s: 0 | 1 | 2) => s << 8;
export const ccrMsize = (s: 0 | 1 | 2) => s << 10;
export const ccrPl = (pl: 0 | 1 | 2 | 3) => pl << 12;

const CCR_MASK = 0x7fff;
/** Read-only while EN = 1: MEM2MEM, PL, MSIZE, PSIZE, MINC, PINC, DIR. */
const CCR_LOCKED = CCR_MEM2MEM | (3 << 12) | (3 << 10) | (3 << 8) | CCR_MINC | CCR_PINC | CCR_DIR;

const FLAG_TC = 1 << 1;
const FLAG_HT = 1 << 2;
const FLAG_TE = 1 << 3;

export type DmaMisuse =
  | 'ccr-write-while-enabled'
  | 'cndtr-write-while-enabled'
  | 'cpar-write-while-enabled'
  | 'cmar-write-while-enabled'
  | 'enable-while-teif'
  | 'enable-with-cndtr-zero';

interface Channel {
  ccr: number;
  cndtr: number;
  cpar: number;
  cmar: number;
  /** The last CNDTR software wrote: the circular reload value. */
  programmed: number;
  /** Internal address pointers, loaded when the channel is enabled. */
  curP: number;
  curM: number;
  /** TCIF/HTIF/TEIF at their ISR positions (bits 1..3); GIF is their OR. */
  flags: number;
  request: boolean;
}

export interface DmaOptions {
  clock: Clock;
  bus: Bus;
  /** Interrupt lines: channel 1, channels 2–3, channels 4–7 (IRQ 9, 10, 11 on the G071). */
  irqs?: readonly [InterruptLine, InterruptLine, InterruptLine];
  hclkHz?: number;
  /** HCLK cycles per data item (an AHB read and write plus arbitration). */
  cyclesPerItem?: number;
  clockEnabled?: boolean;
  base?: number;
}

const SIZES: readonly AccessSize[] = [1, 2, 4, 4];

export class Dma implements MemoryMappedDevice {
  readonly name = 'DMA1';
  readonly base: number;
  readonly misuse = new Map<DmaMisuse, number>();
  /** Called on each forbidden write, with the channel number. */
  onMisuse: ((kind: DmaMisuse, channel: number) => void) | undefined;
  /** Called when a write sets a channel's EN, with the channel number and CCR. */
  onEnable: ((channel: number, ccr: number) => void) | undefined;
  writesWhileUnclocked = 0;
  private items = 0;

  private readonly clock: Clock;
  private readonly bus: Bus;
  private readonly irqs: readonly [InterruptLine, InterruptLine, InterruptLine];
  private readonly irqLevels = [false, false, false];
  private readonly channels: Channel[] = [];
  private hclkHz: number;
  private readonly cyclesPerItem: number;
  private clockEnabled: boolean;
  private timer: TimerHandle | undefined;
  private readonly servedLog: number[] = [];
  private tracing = false;
  private stateListener: (() => void) | null = null;
  /** Channels whose next item access fails as a bus error (test hook, see injectTransferError). */
  private readonly pendingBusErrors = new Set<number>();
  /** The bulk engine running the DMA's timing, if any (see bulk-engine.ts). */
  private bulk: BulkHook | null = null;

  constructor(options: DmaOptions) {
    this.clock = options.clock;
    this.bus = options.bus;
    this.base = options.base ?? DMA1_BASE;
    this.irqs = options.irqs ?? [unconnectedLine, unconnectedLine, unconnectedLine];
    this.hclkHz = options.hclkHz ?? 16_000_000;
    this.cyclesPerItem = options.cyclesPerItem ?? 5;
    this.clockEnabled = options.clockEnabled ?? true;
    for (let i = 0; i < DMA_CHANNELS; i++) this.channels.push(this.blankChannel());
  }

  /** When set, the channel number of every item served is appended (tests). */
  get traceService(): boolean {
    return this.tracing;
  }

  set traceService(on: boolean) {
    // Each item is then seen as it is served: a bulk engine hands the timing back first.
    this.bulk?.release();
    this.tracing = on;
  }

  /** A signal trace's view: told after any change of requests, EN or flags (emulator/debug/trace); null: none. */
  get onStateChange(): (() => void) | null {
    return this.stateListener;
  }

  set onStateChange(listener: (() => void) | null) {
    this.bulk?.release();
    this.stateListener = listener;
  }

  /** Items moved so far (all channels), for tests and statistics. */
  get itemsTransferred(): number {
    this.bulk?.sync(this);
    return this.items;
  }

  reset(): void {
    this.bulk?.release();
    if (this.timer) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.pendingBusErrors.clear();
    for (let i = 0; i < DMA_CHANNELS; i++) {
      const request = this.channels[i]!.request;
      this.channels[i] = { ...this.blankChannel(), request };
    }
    this.updateIrqs();
  }

  /**
   * Test hook: the next item channel `n` (1..7) moves fails as if its memory
   * or peripheral access had hit a bus error, with the hardware's response
   * (RM0444 §10.4.7): TEIF set, EN cleared, the item not moved, CNDTR kept.
   * Lets tests see a transfer error on the real firmware without having to
   * get an unsafe address past the bridge's start checks.
   */
  injectTransferError(n: number): void {
    this.bulk?.release();
    this.ch(n);
    this.pendingBusErrors.add(n);
  }

  /** The order in which channels were served, when `traceService` is on. */
  get served(): readonly number[] {
    this.bulk?.sync(this);
    return this.servedLog;
  }

  setHclkHz(hz: number): void {
    this.bulk?.release();
    this.hclkHz = hz;
  }

  setClockEnabled(on: boolean): void {
    this.bulk?.release();
    this.clockEnabled = on;
    this.kick();
  }

  /** The request input of channel `n` (1..7), driven by DMAMUX channel n−1. */
  request(n: number): InterruptLine {
    return { set: (level: boolean) => this.setRequest(n, level) };
  }

  setRequest(n: number, level: boolean): void {
    this.bulk?.release();
    const ch = this.ch(n);
    if (ch.request === level) return;
    ch.request = level;
    if (level) this.kick();
    this.stateListener?.();
  }

  /** Channel `n`'s (1..7) request input level. */
  requestLevel(n: number): boolean {
    this.bulk?.sync(this);
    return this.ch(n).request;
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(this.base, offset, false, size);
    this.bulk?.sync(this);
    const word = offset & ~3;
    if (word === DMA.ISR) return laneRead(this.isr(), offset, size);
    if (word === DMA.IFCR) return 0;
    const [n, reg] = this.decode(word, offset, false, size);
    const ch = this.ch(n);
    const v = reg === 0 ? ch.ccr : reg === 1 ? ch.cndtr : reg === 2 ? ch.cpar : ch.cmar;
    return laneRead(v, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(this.base, offset, true, size);
    const word = offset & ~3;
    if (word !== DMA.ISR && word !== DMA.IFCR) this.decode(word, offset, true, size);
    // Clearing flags changes no timing: a bulk engine takes the new flags in place.
    const inPlace = word === DMA.IFCR && this.bulk !== null;
    if (inPlace) this.bulk!.sync(this);
    else this.bulk?.release();
    if (!this.clockEnabled) {
      this.writesWhileUnclocked++;
      return;
    }
    if (word === DMA.ISR) return; // read-only
    if (word === DMA.IFCR) {
      this.writeIfcr(laneWrite(0, offset, value, size));
      if (inPlace) this.bulk!.changed(this);
      return;
    }
    const [n, reg] = this.decode(word, offset, true, size);
    const ch = this.ch(n);
    const enabled = (ch.ccr & CCR_EN) !== 0;
    switch (reg) {
      case 0:
        this.writeCcr(n, ch, laneWrite(ch.ccr, offset, value, size) & CCR_MASK);
        break;
      case 1:
        if (enabled) {
          this.countMisuse('cndtr-write-while-enabled', n);
          return;
        }
        ch.cndtr = laneWrite(ch.cndtr, offset, value, size) & 0xffff;
        ch.programmed = ch.cndtr;
        break;
      case 2:
        if (enabled) this.countMisuse('cpar-write-while-enabled', n);
        ch.cpar = laneWrite(ch.cpar, offset, value, size);
        break;
      case 3:
        if (enabled) this.countMisuse('cmar-write-while-enabled', n);
        ch.cmar = laneWrite(ch.cmar, offset, value, size);
        break;
    }
    this.updateIrqs();
    this.kick();
  }

  private blankChannel(): Channel {
    return { ccr: 0, cndtr: 0, cpar: 0, cmar: 0, programmed: 0, curP: 0, curM: 0, flags: 0, request: false };
  }

  private ch(n: number): Channel {
    const ch = this.channels[n - 1];
    if (!ch) throw new RangeError(`DMA1 has no channel ${n}`);
    return ch;
  }

  /** Channel number and register index (0 CCR, 1 CNDTR, 2 CPAR, 3 CMAR) of a channel register offset. */
  private decode(word: number, offset: number, isWrite: boolean, size: AccessSize): [number, number] {
    const rel = word - 0x08;
    const n = Math.floor(rel / 0x14) + 1;
    const reg = (rel % 0x14) / 4;
    if (rel < 0 || n > DMA_CHANNELS || reg > 3) throw busError(this.base, offset, isWrite, size);
    return [n, reg];
  }

  private countMisuse(kind: DmaMisuse, n: number): void {
    this.misuse.set(kind, (this.misuse.get(kind) ?? 0) + 1);
    this.onMisuse?.(kind, n);
  }

  private isr(): number {
    let v = 0;
    this.channels.forEach((ch, i) => {
      const flags = ch.flags | (ch.flags ? 1 : 0);
      v |= flags << (4 * i);
    });
    return v >>> 0;
  }

  private writeIfcr(v: number): void {
    this.channels.forEach((ch, i) => {
      const bits = (v >>> (4 * i)) & 0xf;
      // CGIFx clears all of the channel's flags (RM0444 §10.6.2).
      if (bits & 1) ch.flags = 0;
      else ch.flags &= ~bits;
    });
    this.updateIrqs();
  }

  private writeCcr(n: number, ch: Channel, v: number): void {
    const old = ch.ccr;
    if (old & CCR_EN) {
      if ((old ^ v) & ~CCR_EN) this.countMisuse('ccr-write-while-enabled', n);
      ch.ccr = (old & CCR_LOCKED) | (v & ~CCR_LOCKED);
      return;
    }
    if (v & CCR_EN && ch.flags & FLAG_TE) {
      this.countMisuse('enable-while-teif', n);
      v &= ~CCR_EN;
    }
    ch.ccr = v;
    if (v & CCR_EN) {
      ch.curP = ch.cpar;
      ch.curM = ch.cmar;
      // RM0444 §10.6.4: with CNDTR = 0 no transfer is served, enabled or not.
      if (ch.cndtr === 0) this.countMisuse('enable-with-cndtr-zero', n);
      this.onEnable?.(n, v);
    }
  }

  private eligible(ch: Channel): boolean {
    if (!(ch.ccr & CCR_EN) || ch.cndtr === 0) return false;
    // Memory-to-memory channels run without a request as soon as they are enabled (RM0444 §10.4.3).
    return ch.request || (ch.ccr & CCR_MEM2MEM) !== 0;
  }

  /** RM0444 §10.4.4: highest PL wins, then the lowest channel number. */
  private pick(): number {
    let best = -1;
    let bestPl = -1;
    for (let i = 0; i < DMA_CHANNELS; i++) {
      const ch = this.channels[i]!;
      if (!this.eligible(ch)) continue;
      const pl = (ch.ccr >>> 12) & 3;
      if (pl > bestPl) {
        best = i;
        bestPl = pl;
      }
    }
    return best;
  }

  private kick(): void {
    if (this.timer || !this.clockEnabled || this.hclkHz <= 0 || this.pick() < 0) return;
    this.timer = this.clock.schedule((this.cyclesPerItem * 1e9) / this.hclkHz, this.onServiceSlot);
  }

  /** One service slot: the arbiter picks again before every item (RM0444 §10.4.4). */
  private readonly onServiceSlot = (): void => {
    if (this.bulk?.takeOver()) return;
    this.timer = undefined;
    if (this.clockEnabled) {
      const i = this.pick();
      if (i >= 0) this.serveOne(i);
    }
    this.kick();
  };

  private serveOne(i: number): void {
    const ch = this.channels[i]!;
    const ccr = ch.ccr;
    const psize = SIZES[(ccr >>> 8) & 3]!;
    const msize = SIZES[(ccr >>> 10) & 3]!;
    const fromMemory = (ccr & CCR_DIR) !== 0;
    // Addresses are aligned down to the access size (RM0444 §10.6.5, §10.6.6).
    const pAddr = (ch.curP & ~(psize - 1)) >>> 0;
    const mAddr = (ch.curM & ~(msize - 1)) >>> 0;
    const src = fromMemory ? mAddr : pAddr;
    const srcSize = fromMemory ? msize : psize;
    const dst = fromMemory ? pAddr : mAddr;
    const dstSize = fromMemory ? psize : msize;
    if (this.tracing) this.servedLog.push(i + 1);
    try {
      if (this.pendingBusErrors.delete(i + 1)) throw new BusError(src, false, srcSize);
      const data = this.bus.read(src, srcSize);
      // RM0444 §10.4.6: a narrower source is zero-extended, a wider one
      // truncated to the destination's low-order bytes.
      const mask = dstSize === 4 ? 0xffff_ffff : dstSize === 2 ? 0xffff : 0xff;
      this.bus.write(dst, (data & mask) >>> 0, dstSize);
    } catch (e) {
      if (!(e instanceof BusError)) throw e;
      // RM0444 §10.4.7: a bus error sets TEIF and the hardware clears EN.
      ch.flags |= FLAG_TE;
      ch.ccr &= ~CCR_EN;
      this.updateIrqs();
      return;
    }
    this.items++;
    if (ccr & CCR_PINC) ch.curP = (ch.curP + psize) >>> 0;
    if (ccr & CCR_MINC) ch.curM = (ch.curM + msize) >>> 0;
    ch.cndtr--;
    // HT when half the items are done; for an odd count, once more than half are.
    if (ch.cndtr === Math.floor(ch.programmed / 2)) ch.flags |= FLAG_HT;
    if (ch.cndtr === 0) {
      ch.flags |= FLAG_TC;
      // Circular mode reloads CNDTR and the addresses; it is not allowed with MEM2MEM.
      if (ccr & CCR_CIRC && !(ccr & CCR_MEM2MEM)) {
        ch.cndtr = ch.programmed;
        ch.curP = ch.cpar;
        ch.curM = ch.cmar;
      }
    }
    this.updateIrqs();
  }

  /** Lets a bulk engine run the DMA's timing (null: its own timer, always). */
  attachBulk(hook: BulkHook | null): void {
    this.bulk = hook;
  }

  bulkPort(): DmaBulkPort {
    return { irqs: this.irqs, onSlot: this.onServiceSlot };
  }

  /** Whether something outside watches each item or change (a trace, a test hook): the bulk engine then stays out. */
  get bulkObserved(): boolean {
    return this.tracing || this.stateListener !== null || this.pendingBusErrors.size > 0;
  }

  /** The state the bulk engine takes over; the channels are the DMA's own, which the engine changes in place. */
  exportBulk(): DmaBulkState {
    return {
      channels: this.channels,
      hclkHz: this.hclkHz,
      cyclesPerItem: this.cyclesPerItem,
      clockEnabled: this.clockEnabled,
      irqLevels: [this.irqLevels[0]!, this.irqLevels[1]!, this.irqLevels[2]!],
      itemsTransferred: this.items,
      timer: this.timer,
    };
  }

  /** Channel n's (1..7) flags and the interrupt lines' levels, as a write left them (for the bulk engine). */
  flagsOf(n: number): number {
    return this.ch(n).flags;
  }

  irqLevel(group: number): boolean {
    return this.irqLevels[group] === true;
  }

  importBulk(s: DmaBulkState): void {
    this.irqLevels[0] = s.irqLevels[0];
    this.irqLevels[1] = s.irqLevels[1];
    this.irqLevels[2] = s.irqLevels[2];
    this.items = s.itemsTransferred;
    this.timer = s.timer;
  }

  private updateIrqs(): void {
    // One bit per interrupt line: channel 1, channels 2–3, channels 4–7.
    let levels = 0;
    for (let i = 0; i < DMA_CHANNELS; i++) {
      const ch = this.channels[i]!;
      // The xIE bits sit at the same positions as their flags.
      if (ch.ccr & (CCR_TCIE | CCR_HTIE | CCR_TEIE) & ch.flags) levels |= i === 0 ? 1 : i < 3 ? 2 : 4;
    }
    for (let g = 0; g < 3; g++) {
      const level = (levels & (1 << g)) !== 0;
      if (level !== this.irqLevels[g]) {
        this.irqLevels[g] = level;
        this.irqs[g]!.set(level);
      }
    }
    this.stateListener?.();
  }
}
