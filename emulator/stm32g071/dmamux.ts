/**
 * DMAMUX1 (RM0444 §11): request multiplexer channel x (0..6) connects the
 * request line chosen by CxCR.DMAREQ_ID to DMA1 channel x+1. Request lines are
 * level signals: a peripheral holds its request high while it wants service.
 * Synchronization, event generation and the request generator are stored but
 * not modelled (the bridge uses none of them): SOF/OF never set.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import type { InterruptLine } from '../core/irq.ts';
import type { BulkHook, DmamuxBulkState } from './bulk-state.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const DMAMUX1_BASE = 0x4002_0800;
export const DMAMUX_CHANNELS = 7;

export const DMAMUX = {
  CCR: (x: number) => 4 * x,
  CSR: 0x80,
  CFR: 0x84,
  RGCR: (x: number) => 0x100 + 4 * x,
  RGSR: 0x140,
  RGCFR: 0x144,
  HWCFGR2: 0x3ec,
  HWCFGR1: 0x3f0,
  VERR: 0x3f4,
  IPIDR: 0x3f8,
  SIDR: 0x3fc,
} as const;

/** DMAMUX request inputs used by the bridge (RM0444 §11.3.2, table of DMAMUX requests). */
export const DMAREQ = {
  USART1_RX: 50,
  USART1_TX: 51,
  USART2_RX: 52,
  USART2_TX: 53,
} as const;

/** Highest request input of the DMAMUX design (the STM32G0B1 uses them all). */
export const DMAREQ_MAX = 73;
/**
 * Highest request ID the STM32G071 has (UCPD2_TX); 62 to 73 exist only on
 * the G0B1/G0C1 (RM0444 §11.3.2, table "DMAMUX: assignment of multiplexer
 * inputs to resources"). Selecting one connects nothing.
 */
export const DMAREQ_G071_MAX = 61;

/**
 * Request IDs below 62 that the STM32G071 lacks: 6 and 7 are AES_IN and
 * AES_OUT, and only the STM32G081 has the AES (ST's LL DMAMUX header
 * defines them only where AES exists).
 */
const G071_MISSING: Readonly<Record<number, string>> = { 6: 'AES_IN', 7: 'AES_OUT' };

/** Whether the STM32G071 has request ID `id` (0, no request, included). */
export function g071HasRequest(id: number): boolean {
  return id <= DMAREQ_G071_MAX && !(id in G071_MISSING);
}

/** Why request ID `id` connects nothing on the STM32G071. */
export function missingRequestText(id: number): string {
  const name = G071_MISSING[id];
  return name === undefined
    ? `DMAREQ_ID = ${id}: the STM32G071's requests end at 61 (UCPD2_TX)`
    : `DMAREQ_ID = ${id} is ${name}: the STM32G071 has no AES (only the STM32G081 has)`;
}

/** CxCR fields per the SVD: DMAREQ_ID [7:0] (ids up to 73 use [6:0]), SOIE, EGE, SE, SPOL, NBREQ, SYNC_ID. */
const CCR_MASK = 0xff | (1 << 8) | (1 << 9) | (1 << 16) | (3 << 17) | (0x1f << 19) | (0x1f << 24);
const RGCR_MASK = 0x1f | (1 << 8) | (1 << 16) | (3 << 17) | (0x1f << 19);

/** Identification registers (SVD reset values). */
const ID_REGS: Readonly<Record<number, number>> = {
  [DMAMUX.HWCFGR2]: 0x0000_0017,
  [DMAMUX.HWCFGR1]: 0x0417_3907,
  [DMAMUX.VERR]: 0x0000_0011,
  [DMAMUX.IPIDR]: 0x0010_0011,
  [DMAMUX.SIDR]: 0xa3c5_dd01,
};

/** Where a DMAMUX channel output goes: DMA1 channel x+1's request input. */
export type DmaRequestSink = (dmaChannel: number, level: boolean) => void;

export class Dmamux implements MemoryMappedDevice {
  readonly name = 'DMAMUX1';
  readonly base: number;
  writesWhileUnclocked = 0;
  /** Called when a channel selects a request ID the G071 does not have. */
  onInvalidRequest: ((channel: number, id: number) => void) | undefined;
  private readonly ccr = new Array<number>(DMAMUX_CHANNELS).fill(0);
  private readonly rgcr = [0, 0, 0, 0];
  private readonly levels = new Array<boolean>(DMAREQ_MAX + 1).fill(false);
  private readonly outputs = new Array<boolean>(DMAMUX_CHANNELS).fill(false);
  private clockEnabled: boolean;
  /** The bulk engine running the request lines' timing, if any (see bulk-engine.ts). */
  private bulk: BulkHook | null = null;

  constructor(
    private readonly sink: DmaRequestSink,
    options: { clockEnabled?: boolean; base?: number } = {},
  ) {
    this.clockEnabled = options.clockEnabled ?? true;
    this.base = options.base ?? DMAMUX1_BASE;
  }

  reset(): void {
    this.bulk?.release();
    this.ccr.fill(0);
    this.rgcr.fill(0);
    this.route();
  }

  /** The DMAMUX clock is the DMA's (RCC_AHBENR.DMA1EN). */
  setClockEnabled(on: boolean): void {
    this.clockEnabled = on;
  }

  /** The request input `id` (1..73), for a peripheral to drive. */
  requestLine(id: number): InterruptLine {
    if (!Number.isInteger(id) || id < 1 || id > DMAREQ_MAX)
      throw new RangeError(`DMAMUX has no request ${id}`);
    return {
      set: (level: boolean) => {
        if (this.levels[id] === level) return;
        this.levels[id] = level;
        this.routeRequest(id);
      },
    };
  }

  /** The request id channel x selects. */
  selected(x: number): number {
    return (this.ccr[x] ?? 0) & 0xff;
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(this.base, offset, false, size);
    const word = offset & ~3;
    let v: number;
    if (word < 4 * DMAMUX_CHANNELS) v = this.ccr[word >> 2]!;
    else if (word === DMAMUX.CSR || word === DMAMUX.RGSR) v = 0;
    else if (word === DMAMUX.CFR || word === DMAMUX.RGCFR) v = 0;
    else if (word >= DMAMUX.RGCR(0) && word <= DMAMUX.RGCR(3)) v = this.rgcr[(word - DMAMUX.RGCR(0)) >> 2]!;
    else if (word in ID_REGS) v = ID_REGS[word]!;
    else throw busError(this.base, offset, false, size);
    return laneRead(v, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(this.base, offset, true, size);
    const word = offset & ~3;
    const isCcr = word < 4 * DMAMUX_CHANNELS;
    const isRg = word >= DMAMUX.RGCR(0) && word <= DMAMUX.RGCR(3);
    const known =
      isCcr ||
      isRg ||
      word === DMAMUX.CSR ||
      word === DMAMUX.CFR ||
      word === DMAMUX.RGSR ||
      word === DMAMUX.RGCFR;
    if (!known && !(word in ID_REGS)) throw busError(this.base, offset, true, size);
    this.bulk?.release();
    if (!this.clockEnabled) {
      this.writesWhileUnclocked++;
      return;
    }
    if (isCcr) {
      const x = word >> 2;
      this.ccr[x] = laneWrite(this.ccr[x]!, offset, value, size) & CCR_MASK;
      const id = this.selected(x);
      if (!g071HasRequest(id)) this.onInvalidRequest?.(x, id);
      this.route();
    } else if (isRg) {
      const x = (word - DMAMUX.RGCR(0)) >> 2;
      this.rgcr[x] = laneWrite(this.rgcr[x]!, offset, value, size) & RGCR_MASK;
    }
    // CSR/RGSR and the identification registers are read-only; CFR/RGCFR clear flags that never set.
  }

  /** Lets a bulk engine drive the request lines (null: the peripherals drive them, always). */
  attachBulk(hook: BulkHook | null): void {
    this.bulk = hook;
  }

  /** The routing and the lines, the DMAMUX's own arrays: the bulk engine keeps the lines current in them. */
  exportBulk(): DmamuxBulkState {
    return {
      selected: Array.from({ length: DMAMUX_CHANNELS }, (_, x) => this.selected(x)),
      levels: this.levels,
      outputs: this.outputs,
    };
  }

  /** Only the channels selecting `id` can change when its line does. */
  private routeRequest(id: number): void {
    if (id > DMAREQ_G071_MAX) return;
    const level = this.levels[id] === true;
    for (let x = 0; x < DMAMUX_CHANNELS; x++) {
      if ((this.ccr[x]! & 0xff) !== id || level === this.outputs[x]) continue;
      this.outputs[x] = level;
      this.sink(x + 1, level);
    }
  }

  private route(): void {
    for (let x = 0; x < DMAMUX_CHANNELS; x++) {
      const id = this.selected(x);
      const level = id >= 1 && id <= DMAREQ_G071_MAX && this.levels[id] === true;
      if (level !== this.outputs[x]) {
        this.outputs[x] = level;
        this.sink(x + 1, level);
      }
    }
  }
}
