/**
 * The bulk engine's model of the USART ↔ DMAMUX ↔ DMA domain (the chains'
 * fast path is in bulk-sim.ts, on top of it): the same
 * per-character steps as usart.ts, dmamux.ts and dma.ts (a frame ends, a
 * character arrives, the line goes idle, the DMA serves a slot), in the
 * same order and with the same arithmetic on times, but on flat state and
 * without the clock, the request lines or the bus in between. It runs in
 * two ways:
 *
 * - committing: the steps change the real state, move bytes in memory,
 *   drive interrupt lines and hand characters to their listeners;
 * - looking ahead (on a copy): nothing leaves the copy; it finds the first
 *   step that anything outside the domain would see at its time (an
 *   interrupt line that changes, a character a listener must hear at its
 *   time) or that only the peripherals' own code handles (a waveform at
 *   another rate to sample).
 *
 * Each timer keeps its place in the clock's firing order (due time,
 * scheduling time, scheduling order: virtual-clock.ts), so steps run in
 * the order the clock would have run the peripherals' own timers.
 */
import type { VirtualClock } from '../core/virtual-clock.ts';
import type { BulkWire } from './bulk-state.ts';
import { CCR_CIRC, CCR_EN, CCR_HTIE, CCR_MINC, CCR_TCIE, CCR_TEIE, DMA_CHANNELS } from './dma.ts';
import { DMAREQ_G071_MAX } from './dmamux.ts';
import { sameRate } from './uart-waveform.ts';
import {
  CR1_CMIE,
  CR1_IDLEIE,
  CR1_PCE,
  CR1_PEIE,
  CR1_RXNEIE,
  CR1_TCIE,
  CR1_TXEIE,
  CR3_DDRE,
  CR3_DMAR,
  CR3_DMAT,
  CR3_EIE,
  CR3_OVRDIS,
  ISR_BUSY,
  ISR_CMF,
  ISR_FE,
  ISR_IDLE,
  ISR_NE,
  ISR_ORE,
  ISR_PE,
  ISR_RXNE,
  ISR_TC,
  ISR_TXE,
} from './usart.ts';

/** Timer slots: per USART u, 3u + TX (frame end), RX (character end), IDLE; then the DMA's service slot. */
export const T_TX = 0;
export const T_RX = 1;
export const T_IDLE = 2;
export const T_SLOT = 6;
export const TIMERS = 7;

/** What a DMA channel's items do, for the channels the engine runs. */
export const ITEM_NONE = 0;
/** Memory byte to a USART's TDR. */
export const ITEM_TX = 1;
/** A USART's RDR to a memory byte. */
export const ITEM_RX = 2;

/** How a USART's `onTransmit` hears characters. */
export const DELIVER_NONE = 0;
export const DELIVER_BATCHED = 1;
export const DELIVER_EXACT = 2;
/** Batched, but the last character before the transmitter goes idle at its time. */
export const DELIVER_UNTIL_IDLE = 3;

// DMA_ISR flag positions within a channel's nibble (RM0444 §10.6.1).
const FLAG_TC = 1 << 1;
const FLAG_HT = 1 << 2;
/** A character's frame when the USART can't run: a 115200 8N1 frame (usart.ts). */
const IDLE_LINE_FRAME_NS = 86_806;

/** Where committed steps send what leaves the domain. */
export interface SimOutputs {
  usartIrq(u: number, level: boolean): void;
  dmaIrq(group: number, level: boolean): void;
}

export class BulkModel {
  // ---- timers
  readonly due = new Float64Array(TIMERS).fill(Infinity);
  readonly sched = new Float64Array(TIMERS);
  readonly seq = new Float64Array(TIMERS);
  /** The time of the step being run. */
  now = 0;
  /** A delay handed to `schedule`. */
  private readonly delay = new Float64Array(1);
  /** Characters heard while committing, for the engine to hand to listeners: USART, byte, time. */
  heardCount = 0;
  heardUsart = new Uint8Array(256);
  heardByte = new Uint16Array(256);
  heardTime = new Float64Array(256);
  /** Next scheduling order number while looking ahead (committing takes the clock's). */
  protected lookSeq = 0;

  // ---- USARTs (index 0: USART1, 1: USART2); configuration fixed while the engine runs
  readonly cr1 = new Int32Array(2);
  readonly cr2 = new Int32Array(2);
  readonly cr3 = new Int32Array(2);
  /** Frame and bit time, ns; NaN: the USART can't run. */
  readonly frame = new Float64Array(2);
  readonly bit = new Float64Array(2);
  readonly wordMask = new Int32Array(2);
  readonly txRun = new Uint8Array(2);
  readonly rxRun = new Uint8Array(2);
  readonly live = new Uint8Array(2);
  readonly delivery = new Uint8Array(2);
  /** DMAMUX request IDs of each USART's TX and RX requests (0: none). */
  readonly reqTx = new Int32Array(2);
  readonly reqRx = new Int32Array(2);
  /** ISR bits that drive the interrupt line (from CR1/CR3's enables), and whether the DMA requests can rise. */
  readonly irqBits = new Int32Array(2);
  readonly txReqOn = new Uint8Array(2);
  readonly rxReqOn = new Uint8Array(2);
  readonly ddre = new Uint8Array(2);
  // moving
  readonly isr = new Int32Array(2);
  readonly rdr = new Int32Array(2);
  readonly tdr = new Int32Array(2);
  readonly txByte = new Int32Array(2);
  readonly tdrFull = new Uint8Array(2);
  readonly txIdle = new Uint8Array(2);
  readonly txOnWire = new Uint8Array(2);
  readonly rxListening = new Uint8Array(2);
  readonly idleArmed = new Uint8Array(2);
  readonly irq = new Uint8Array(2);
  readonly txReq = new Uint8Array(2);
  readonly rxReq = new Uint8Array(2);
  readonly rxStart = new Float64Array(2);
  readonly rxFrame = new Float64Array(2);
  /** The character arriving: whether there is one, its byte (-1: none is made of it), its errors. */
  readonly rxHas = new Uint8Array(2);
  readonly rxByte = new Int16Array(2);
  readonly rxErrors = new Uint8Array(2);
  /** Characters taken from each wire while looking ahead (committing takes them off the wire). */
  readonly wireOff = new Int32Array(2);

  // ---- DMA
  readonly ccr = new Int32Array(DMA_CHANNELS);
  readonly cndtr = new Int32Array(DMA_CHANNELS);
  readonly programmed = new Int32Array(DMA_CHANNELS);
  readonly cpar = new Uint32Array(DMA_CHANNELS);
  readonly cmar = new Uint32Array(DMA_CHANNELS);
  readonly curP = new Uint32Array(DMA_CHANNELS);
  readonly curM = new Uint32Array(DMA_CHANNELS);
  readonly flags = new Int32Array(DMA_CHANNELS);
  readonly request = new Uint8Array(DMA_CHANNELS);
  readonly item = new Uint8Array(DMA_CHANNELS);
  /** The USART a channel's items go to or come from. */
  readonly target = new Uint8Array(DMA_CHANNELS);
  readonly memBase = new Float64Array(DMA_CHANNELS);
  readonly mem: (Uint8Array | null)[] = new Array<Uint8Array | null>(DMA_CHANNELS).fill(null);
  readonly dmaIrq = new Uint8Array(3);
  items = 0;
  slotNs = 0;
  /** DMA clock on (a slot serves an item). */
  dmaClock = false;
  /** DMA clock on and HCLK running (a slot can be scheduled). */
  dmaRuns = false;

  /** Enabled channels, highest PL first, then the lowest number (RM0444 §10.4.4); `enabledCount` of them. */
  readonly order = new Int32Array(DMA_CHANNELS);
  enabledCount = 0;

  // ---- DMAMUX
  readonly selected = new Int32Array(DMA_CHANNELS);
  readonly levels = new Uint8Array(DMAREQ_G071_MAX + 1);
  readonly outputs = new Uint8Array(DMA_CHANNELS);
  /** The channels (a bit each) selecting each request ID. */
  readonly routes = new Int32Array(DMAREQ_G071_MAX + 1);

  /** Characters taken off each wire while committing, since the model was loaded. */
  protected readonly taken = new Float64Array(2);
  /** Set when a wire's characters were given their durations (what a scan of it found may change). */
  protected readonly wireChanged = new Uint8Array(2);
  /** USART u's wire got more characters at its end: what a scan of it found may change. */
  wireGrew(u: number): void {
    this.wireChanged[u] = 1;
  }

  /** Steps run since this model was loaded. */
  steps = 0;

  // ---- running
  /** Committing (else looking ahead). */
  commit = false;
  /** Set by a step that changes what the outside sees. */
  seen = false;
  /** Set by a step only the peripherals' own code can take. */
  needsReference = false;

  constructor(
    protected readonly clock: VirtualClock,
    protected readonly wires: readonly [BulkWire, BulkWire],
    private readonly out: SimOutputs,
  ) {}

  copyFrom(o: BulkModel): void {
    this.due.set(o.due);
    this.sched.set(o.sched);
    this.seq.set(o.seq);
    this.now = o.now;
    this.cr1.set(o.cr1);
    this.cr2.set(o.cr2);
    this.cr3.set(o.cr3);
    this.frame.set(o.frame);
    this.bit.set(o.bit);
    this.wordMask.set(o.wordMask);
    this.txRun.set(o.txRun);
    this.rxRun.set(o.rxRun);
    this.live.set(o.live);
    this.delivery.set(o.delivery);
    this.reqTx.set(o.reqTx);
    this.reqRx.set(o.reqRx);
    this.irqBits.set(o.irqBits);
    this.txReqOn.set(o.txReqOn);
    this.rxReqOn.set(o.rxReqOn);
    this.ddre.set(o.ddre);
    this.isr.set(o.isr);
    this.rdr.set(o.rdr);
    this.tdr.set(o.tdr);
    this.txByte.set(o.txByte);
    this.tdrFull.set(o.tdrFull);
    this.txIdle.set(o.txIdle);
    this.txOnWire.set(o.txOnWire);
    this.rxListening.set(o.rxListening);
    this.idleArmed.set(o.idleArmed);
    this.irq.set(o.irq);
    this.txReq.set(o.txReq);
    this.rxReq.set(o.rxReq);
    this.rxStart.set(o.rxStart);
    this.rxFrame.set(o.rxFrame);
    this.rxHas.set(o.rxHas);
    this.rxByte.set(o.rxByte);
    this.rxErrors.set(o.rxErrors);
    this.wireOff.set(o.wireOff);
    this.ccr.set(o.ccr);
    this.cndtr.set(o.cndtr);
    this.programmed.set(o.programmed);
    this.cpar.set(o.cpar);
    this.cmar.set(o.cmar);
    this.curP.set(o.curP);
    this.curM.set(o.curM);
    this.flags.set(o.flags);
    this.request.set(o.request);
    this.item.set(o.item);
    this.target.set(o.target);
    this.memBase.set(o.memBase);
    for (let c = 0; c < DMA_CHANNELS; c++) this.mem[c] = o.mem[c]!;
    this.dmaIrq.set(o.dmaIrq);
    this.items = o.items;
    this.slotNs = o.slotNs;
    this.dmaClock = o.dmaClock;
    this.dmaRuns = o.dmaRuns;
    this.order.set(o.order);
    this.enabledCount = o.enabledCount;
    this.selected.set(o.selected);
    this.levels.set(o.levels);
    this.outputs.set(o.outputs);
    this.routes.set(o.routes);
    this.steps = o.steps;
  }

  /** Works out what follows from the configuration (after it is loaded or changed). */
  prepare(): void {
    for (let u = 0; u < 2; u++) {
      const cr1 = this.cr1[u]!;
      const cr3 = this.cr3[u]!;
      let bits = 0;
      if (cr1 & CR1_TXEIE) bits |= ISR_TXE;
      if (cr1 & CR1_TCIE) bits |= ISR_TC;
      if (cr1 & CR1_RXNEIE) bits |= ISR_RXNE | ISR_ORE;
      if (cr1 & CR1_IDLEIE) bits |= ISR_IDLE;
      if (cr1 & CR1_CMIE) bits |= ISR_CMF;
      if (cr1 & CR1_PEIE) bits |= ISR_PE;
      if (cr3 & CR3_EIE) bits |= ISR_FE | ISR_NE | ISR_ORE;
      this.irqBits[u] = bits;
      this.txReqOn[u] = this.live[u] && cr3 & CR3_DMAT ? 1 : 0;
      this.rxReqOn[u] = this.live[u] && cr3 & CR3_DMAR ? 1 : 0;
      this.ddre[u] = cr3 & CR3_DDRE ? 1 : 0;
    }
    let n = 0;
    for (let pl = 3; pl >= 0; pl--) {
      for (let c = 0; c < DMA_CHANNELS; c++) {
        const ccr = this.ccr[c]!;
        if (ccr & CCR_EN && ((ccr >>> 12) & 3) === pl) this.order[n++] = c;
      }
    }
    this.enabledCount = n;
    this.routes.fill(0);
    for (let x = 0; x < DMA_CHANNELS; x++) {
      const id = this.selected[x]!;
      if (id > 0 && id < this.routes.length) this.routes[id]! |= 1 << x;
    }
  }

  /** Starts looking ahead: scheduling order numbers after every one the clock has given. */
  startLookAhead(): void {
    this.commit = false;
    this.lookSeq = this.clock.allocateSeq();
  }

  /** The timer that fires next, or -1. */
  next(): number {
    const due = this.due;
    let best = -1;
    let bd = Infinity;
    let bs = 0;
    let bq = 0;
    for (let k = 0; k < TIMERS; k++) {
      const d = due[k]!;
      if (d > bd) continue;
      if (d === Infinity) continue;
      const s = this.sched[k]!;
      const q = this.seq[k]!;
      if (d < bd || s < bs || (s === bs && q < bq)) {
        best = k;
        bd = d;
        bs = s;
        bq = q;
      }
    }
    return best;
  }

  /**
   * Whether timer k's step is one only the peripherals' own code takes: a
   * character ends and the next on the wire was sent at another rate (its
   * waveform to sample). The only such step, as `startWireChar` says.
   */
  needsReferenceAt(k: number): boolean {
    if (k !== T_RX && k !== 3 + T_RX) return false;
    const u = k >= 3 ? 1 : 0;
    const wire = this.wires[u]!;
    const off = this.wireOff[u]!;
    if (off >= wire.length) return false;
    const senderBit = wire.senderAt(off);
    if (Number.isNaN(senderBit) || !Number.isNaN(wire.durationAt(off))) return false;
    const own = this.bit[u]!;
    return Number.isNaN(own) || !sameRate(own, senderBit);
  }

  /** Runs timer `k`'s step at its due time. */
  run(k: number): void {
    this.steps++;
    this.now = this.due[k]!;
    this.due[k] = Infinity;
    if (k === T_SLOT) {
      this.slot();
      return;
    }
    const u = k >= 3 ? 1 : 0;
    const kind = k - 3 * u;
    if (kind === T_TX) this.txEnd(u);
    else if (kind === T_RX) this.rxEnd(u);
    else this.idle(u);
  }

  /** Schedules timer k `delay[0]` ns from now (a field: a number argument would be boxed on each call). */
  private schedule(k: number): void {
    const now = this.now;
    // As VirtualClock.schedule: never sooner than one tick.
    this.due[k] = Math.max(now + this.delay[0]!, now + 1);
    this.sched[k] = now;
    this.seq[k] = this.commit ? this.clock.allocateSeq() : this.lookSeq++;
  }

  /** A character left USART u's TX pin now. */
  protected heardNow(u: number, byte: number): void {
    let n = this.heardCount;
    if (n === this.heardByte.length) this.growHeard();
    this.heardUsart[n] = u;
    this.heardByte[n] = byte;
    this.heardTime[n] = this.now;
    this.heardCount = ++n;
  }

  private growHeard(): void {
    const size = 2 * this.heardByte.length;
    const usart = new Uint8Array(size);
    const byte = new Uint16Array(size);
    const time = new Float64Array(size);
    usart.set(this.heardUsart);
    byte.set(this.heardByte);
    time.set(this.heardTime);
    this.heardUsart = usart;
    this.heardByte = byte;
    this.heardTime = time;
  }

  // ---------------------------------------------------------------- USART

  /** usart.ts txFrameDone. */
  private txEnd(u: number): void {
    const wasIdle = this.txIdle[u] === 1;
    const sent = this.txByte[u]!;
    const onWire = this.txOnWire[u] === 1;
    this.txIdle[u] = 0;
    if (this.tdrFull[u] && this.txRun[u]) this.tryStartTx(u);
    else if (!wasIdle) this.isr[u]! |= ISR_TC;
    this.update(u);
    const delivery = this.delivery[u];
    if (!wasIdle && onWire && delivery !== DELIVER_NONE) {
      const exact =
        delivery === DELIVER_EXACT ||
        (delivery === DELIVER_UNTIL_IDLE && !this.tdrFull[u] && this.due[3 * u + T_TX] === Infinity);
      if (exact) this.seen = true;
      if (this.commit) this.heardNow(u, sent);
    }
  }

  /** usart.ts tryStartTx; the pin is routed (the engine runs a transmitter only then). */
  private tryStartTx(u: number): void {
    const k = 3 * u + T_TX;
    if (this.due[k] !== Infinity || !this.tdrFull[u] || !this.txRun[u]) return;
    const frame = this.frame[u]!;
    if (Number.isNaN(frame)) return;
    this.txIdle[u] = 0;
    this.txByte[u] = this.tdr[u]!;
    this.tdrFull[u] = 0;
    this.delay[0] = frame;
    this.schedule(k);
    this.txOnWire[u] = 1;
    this.update(u);
  }

  /** usart.ts wireCharDone. */
  private rxEnd(u: number): void {
    const had = this.rxHas[u] === 1;
    this.rxHas[u] = 0;
    this.isr[u]! &= ~ISR_BUSY;
    if (had && this.rxByte[u]! >= 0 && this.rxListening[u] && this.rxRun[u]) this.deposit(u);
    this.rxListening[u] = 0;
    if (this.wires[u]!.length - this.wireOff[u]! > 0) this.startWireChar(u);
    else if (this.idleArmed[u] && this.rxRun[u]) {
      const frame = this.frame[u]!;
      this.delay[0] = Number.isNaN(frame) ? this.rxFrame[u]! : frame;
      this.schedule(3 * u + T_IDLE);
    }
    this.update(u);
  }

  /** usart.ts deposit. */
  private deposit(u: number): void {
    const byte = this.rxByte[u]!;
    const cr3 = this.cr3[u]!;
    if (this.isr[u]! & ISR_RXNE) {
      if (cr3 & CR3_OVRDIS) {
        this.rdr[u] = byte;
        this.idleArmed[u] = 1;
      } else {
        this.isr[u]! |= ISR_ORE;
      }
      return;
    }
    const errors = this.rxErrors[u]! & (this.cr1[u]! & CR1_PCE ? ISR_PE | ISR_FE | ISR_NE : ISR_FE | ISR_NE);
    this.isr[u]! |= errors;
    const rdr = byte & this.wordMask[u]!;
    this.rdr[u] = rdr;
    if ((rdr & 0xff) === this.cr2[u]! >>> 24) this.isr[u]! |= ISR_CMF;
    if (errors && cr3 & CR3_DMAR && !(cr3 & CR3_DDRE)) return;
    this.isr[u]! |= ISR_RXNE;
    this.idleArmed[u] = 1;
  }

  /** usart.ts startWireChar (and sampleForeignRun for a sender at this USART's rate). */
  private startWireChar(u: number): void {
    const wire = this.wires[u]!;
    const off = this.wireOff[u]!;
    if (off >= wire.length) return;
    const senderBit = wire.senderAt(off);
    if (!Number.isNaN(senderBit) && Number.isNaN(wire.durationAt(off))) {
      const own = this.bit[u]!;
      if (Number.isNaN(own) || !sameRate(own, senderBit)) {
        // Another rate: the USART samples the waveform, and may report the mismatch.
        this.needsReference = true;
        return;
      }
      // As sampleForeignRun at the rate itself: the whole run gets its duration.
      for (let i = off; i < wire.length; i++) {
        if (wire.senderAt(i) !== senderBit || !Number.isNaN(wire.durationAt(i))) break;
        wire.setDuration(i, senderBit * 10);
        this.wireChanged[u] = 1;
      }
    }
    const duration = wire.durationAt(off);
    this.rxHas[u] = 1;
    this.rxByte[u] = wire.byteAt(off);
    this.rxErrors[u] = wire.errorsAt(off);
    if (this.commit) {
      wire.shift();
      this.taken[u]!++;
    } else this.wireOff[u] = off + 1;
    this.due[3 * u + T_IDLE] = Infinity;
    const own = this.frame[u]!;
    const frame = Number.isNaN(duration) ? (Number.isNaN(own) ? IDLE_LINE_FRAME_NS : own) : duration;
    const listening = this.rxRun[u]!;
    this.rxListening[u] = listening;
    if (listening) this.isr[u]! |= ISR_BUSY;
    this.rxStart[u] = this.now;
    this.rxFrame[u] = frame;
    this.delay[0] = frame;
    this.schedule(3 * u + T_RX);
    this.update(u);
  }

  /** usart.ts's IDLE timer. */
  private idle(u: number): void {
    if (this.idleArmed[u] && this.rxRun[u]) {
      this.isr[u]! |= ISR_IDLE;
      this.idleArmed[u] = 0;
      this.update(u);
    }
  }

  /** usart.ts update: the interrupt line and the DMA requests from the flags. */
  private update(u: number): void {
    let isr = this.isr[u]! & ~ISR_TXE;
    if (!this.tdrFull[u]) isr |= ISR_TXE;
    const irq = (isr & this.irqBits[u]!) !== 0 ? 1 : 0;
    const txReq = this.txReqOn[u] && isr & ISR_TXE ? 1 : 0;
    // With DDRE = 1 a reception error masks the request until its flag is cleared.
    const rxBlocked = this.ddre[u] === 1 && (isr & (ISR_PE | ISR_FE | ISR_NE)) !== 0;
    const rxReq = this.rxReqOn[u] && isr & ISR_RXNE && !rxBlocked ? 1 : 0;
    if (irq !== this.irq[u]) {
      this.irq[u] = irq;
      this.seen = true;
      if (this.commit) this.out.usartIrq(u, irq === 1);
    }
    if (txReq !== this.txReq[u]) {
      this.txReq[u] = txReq;
      this.requestLine(this.reqTx[u]!, txReq);
    }
    if (rxReq !== this.rxReq[u]) {
      this.rxReq[u] = rxReq;
      this.requestLine(this.reqRx[u]!, rxReq);
    }
  }

  // ---------------------------------------------------------------- DMAMUX

  /** dmamux.ts requestLine(id).set and routeRequest. */
  private requestLine(id: number, level: number): void {
    if (id === 0 || this.levels.length <= id) return;
    if (this.levels[id] === level) return;
    this.levels[id] = level;
    for (let m = this.routes[id]!, x = 0; m !== 0; m >>>= 1, x++) {
      if (!(m & 1) || level === this.outputs[x]) continue;
      this.outputs[x] = level;
      this.setRequest(x, level);
    }
  }

  // ---------------------------------------------------------------- DMA

  /** dma.ts setRequest. */
  private setRequest(c: number, level: number): void {
    if (this.request[c] === level) return;
    this.request[c] = level;
    if (level) this.kick();
  }

  /** dma.ts pick: highest PL, then the lowest channel (RM0444 §10.4.4). */
  private pick(): number {
    // The engine runs no memory-to-memory channel: an enabled channel needs its request.
    const order = this.order;
    for (let i = 0; i < this.enabledCount; i++) {
      const c = order[i]!;
      if (this.request[c] && this.cndtr[c] !== 0) return c;
    }
    return -1;
  }

  /** dma.ts kick. */
  private kick(): void {
    if (this.due[T_SLOT] !== Infinity || !this.dmaRuns || this.pick() < 0) return;
    this.delay[0] = this.slotNs;
    this.schedule(T_SLOT);
  }

  /** dma.ts onServiceSlot. */
  private slot(): void {
    if (this.dmaClock) {
      const c = this.pick();
      if (c >= 0) this.serve(c);
    }
    this.kick();
  }

  /** dma.ts serveOne, for the item forms the engine runs (8-bit, memory ↔ a USART data register). */
  private serve(c: number): void {
    const ccr = this.ccr[c]!;
    const u = this.target[c]!;
    if (this.item[c] === ITEM_TX) {
      // The memory byte goes to TDR (usart.ts write → writeTdr, then update).
      const byte = this.commit ? this.mem[c]![this.curM[c]! - this.memBase[c]!]! : 0;
      this.tdr[u] = byte;
      this.tdrFull[u] = 1;
      this.isr[u]! &= ~ISR_TC;
      this.tryStartTx(u);
      this.update(u);
    } else {
      // RDR is read (clearing RXNE) and its low byte goes to memory.
      const v = this.rdr[u]!;
      if (this.isr[u]! & ISR_RXNE) {
        this.isr[u]! &= ~ISR_RXNE;
        this.update(u);
      }
      if (this.commit) this.mem[c]![this.curM[c]! - this.memBase[c]!] = v;
    }
    this.items++;
    if (ccr & CCR_MINC) this.curM[c] = this.curM[c]! + 1;
    const left = this.cndtr[c]! - 1;
    this.cndtr[c] = left;
    if (left === Math.floor(this.programmed[c]! / 2)) this.flags[c]! |= FLAG_HT;
    if (left === 0) {
      this.flags[c]! |= FLAG_TC;
      if (ccr & CCR_CIRC) {
        this.cndtr[c] = this.programmed[c]!;
        this.curP[c] = this.cpar[c]!;
        this.curM[c] = this.cmar[c]!;
      }
    }
    this.updateIrq(c);
  }

  /** dma.ts updateIrqs, for the line of channel c's group (channel 1, channels 2–3, channels 4–7): only its flags changed. */
  private updateIrq(c: number): void {
    const g = c === 0 ? 0 : c < 3 ? 1 : 2;
    const first = c === 0 ? 0 : c < 3 ? 1 : 3;
    const last = c === 0 ? 0 : c < 3 ? 2 : DMA_CHANNELS - 1;
    let level = 0;
    for (let i = first; i <= last; i++)
      if (this.ccr[i]! & (CCR_TCIE | CCR_HTIE | CCR_TEIE) & this.flags[i]!) level = 1;
    if (level !== this.dmaIrq[g]) {
      this.dmaIrq[g] = level;
      this.seen = true;
      if (this.commit) this.out.dmaIrq(g, level === 1);
    }
  }
}
