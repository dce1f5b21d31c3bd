/**
 * Bulk peripheral timing: the USARTs, the DMAMUX and the DMA moving many
 * characters per scheduled event, exactly as they move them one at a time.
 *
 * Left to themselves the peripherals put every character through the clock
 * (a frame ends, the DMA gets a request, a service slot moves a byte, the
 * next frame starts): some 800,000 events per virtual second when the
 * bridge streams at 2 Mbaud, each stopping the core. The engine takes that
 * timing over whenever it can run the whole domain (bulk-sim.ts), and then
 *
 * - works the state out lazily, when something looks at it: a register
 *   read, a host's query, a bus access by anyone but the core to memory a
 *   DMA run reads or writes, the end of a slice of the board's run;
 * - keeps on the clock only the next step anything outside would see at
 *   its time (found by running ahead on a copy): an interrupt line that
 *   changes (DMA HT/TC, USART TC, IDLE, character match, an error), a
 *   character a listener must hear at its time (the host port), the end of
 *   the activity, and steps only the peripherals' own code takes;
 * - hands the timing back, with each timer at its place in the clock's
 *   firing order, before anything changes the domain from outside (a
 *   register write, a character from a host, a reset, a clock change, a
 *   pin's routing); the first of the peripherals' timers that fires then
 *   gives it back to the engine.
 *
 * The core reads and writes SRAM without the bus: a DMA run's bytes move
 * when the engine works the state out, which is before the firmware can
 * know of them through the DMA or the USART (their registers, their
 * interrupts), and transmitted bytes are read from memory then too. A
 * firmware that races a DMA run on memory without looking at the DMA
 * (polling the buffer itself, or writing behind a transmission it has not
 * seen progress) can tell: run it with `peripheralMode: 'per-character'`.
 */
import type { TimerHandle } from '../core/clock.ts';
import type { MemoryRegion, SystemBus } from '../core/system-bus.ts';
import type { TimerKey, VirtualClock } from '../core/virtual-clock.ts';
import {
  BulkSim,
  DELIVER_BATCHED,
  DELIVER_EXACT,
  DELIVER_NONE,
  DELIVER_UNTIL_IDLE,
  ITEM_NONE,
  ITEM_RX,
  ITEM_TX,
  T_IDLE,
  T_RX,
  T_SLOT,
  T_TX,
  TIMERS,
} from './bulk-sim.ts';
import type {
  BulkHook,
  DmaBulkPort,
  DmaBulkState,
  DmamuxBulkState,
  UsartBulkPort,
  UsartBulkState,
} from './bulk-state.ts';
import { CCR_CIRC, CCR_DIR, CCR_EN, CCR_MEM2MEM, CCR_MINC, CCR_PINC, DMA_CHANNELS, type Dma } from './dma.ts';
import type { Dmamux } from './dmamux.ts';
import { CR1_M0, CR1_M1, CR1_RE, CR1_TE, CR1_UE, USART, type Usart } from './usart.ts';

/**
 * Steps a look-ahead runs before it puts a plain stop on the clock to look
 * on from there: few at first, since anything outside that changes the
 * domain (a register write) voids what was looked at beyond it; twice as
 * many each time it goes on undisturbed.
 */
const LOOK_AHEAD_FIRST = 256;
/** No limit on steps (a small integer, unlike Infinity, is not boxed as an argument). */
const MANY_STEPS = 0x3fff_ffff;
const LOOK_AHEAD_MOST = 16_384;

/** What the engine's stop on the clock is for. */
const enum Stop {
  /** A step anything outside sees at its time: run it there. */
  Seen,
  /** A step only the peripherals' own code takes: hand the timing back just before it. */
  Reference,
  /** The look-ahead ran its length, or the activity ends: look again from there. */
  Again,
}

export interface BulkUsart {
  readonly usart: Usart;
  /** Its DMAMUX request IDs (0: not connected). */
  readonly txRequest: number;
  readonly rxRequest: number;
}

export interface BulkEngineOptions {
  clock: VirtualClock;
  bus: SystemBus;
  usarts: readonly [BulkUsart, BulkUsart];
  dma: Dma;
  dmamux: Dmamux;
}

interface PseudoTimer extends TimerHandle {
  dueNs: number;
}

/** How much the engine did, for benchmarks and tests. */
export interface BulkStats {
  /** Times it took the timing over, and handed it back. */
  takeOvers: number;
  handBacks: number;
  /** Its stops on the clock. */
  stops: number;
  /** Steps committed, and run while looking ahead. */
  steps: number;
  lookedAhead: number;
}

export class BulkEngine implements BulkHook {
  readonly stats: BulkStats = { takeOvers: 0, handBacks: 0, stops: 0, steps: 0, lookedAhead: 0 };
  private readonly clock: VirtualClock;
  private readonly bus: SystemBus;
  private readonly usarts: readonly [BulkUsart, BulkUsart];
  private readonly dma: Dma;
  private readonly dmamux: Dmamux;
  private readonly ports: [UsartBulkPort, UsartBulkPort];
  private readonly dmaPort: DmaBulkPort;
  private readonly real: BulkSim;
  private readonly ahead: BulkSim;
  private engaged = false;
  /** The look-ahead copy stands right after the step of the current stop. */
  private aheadValid = false;
  /** Steps the current look-ahead may run. */
  private lookAhead = LOOK_AHEAD_FIRST;
  /** Inside a step or a hand-over: the peripherals' state is being worked on. */
  private busy = false;
  private stop: TimerHandle | undefined;
  private stopKind = Stop.Again;
  private stopDue = 0;
  private stopSched = 0;
  /** The timer whose step the stop is for. */
  private stopTimer = -1;
  /** A timer handed back for the peripherals' own code to take: its takeOver declines. */
  private skip: TimerHandle | null = null;
  /** Nothing changed the domain's configuration since the engine last found it could not run it. */
  private cannotRun = false;
  /** Timer handles shown to the peripherals while the engine runs their timing. */
  private readonly pseudo: PseudoTimer[] = Array.from({ length: TIMERS }, () => ({ dueNs: 0 }));
  /** Handing characters to listeners now. */
  private hearing = false;
  /** Memory ranges the running DMA channels use: [lo, hi] pairs. */
  private readonly watched: number[] = [];
  private usartStates: [UsartBulkState, UsartBulkState] | undefined;
  private dmaState: DmaBulkState | undefined;
  private muxState: DmamuxBulkState | undefined;
  private readonly guard = (address: number, size: number): void => {
    const w = this.watched;
    for (let i = 0; i < w.length; i += 2) {
      if (address + size > w[i]! && address <= w[i + 1]!) {
        this.sync();
        return;
      }
    }
  };

  constructor(options: BulkEngineOptions) {
    this.clock = options.clock;
    this.bus = options.bus;
    this.usarts = options.usarts;
    this.dma = options.dma;
    this.dmamux = options.dmamux;
    this.ports = [this.usarts[0].usart.bulkPort(), this.usarts[1].usart.bulkPort()];
    this.dmaPort = this.dma.bulkPort();
    const wires = [this.ports[0].wire, this.ports[1].wire] as const;
    const outputs = {
      usartIrq: (u: number, level: boolean) => this.ports[u]!.irq.set(level),
      dmaIrq: (g: number, level: boolean) => this.dmaPort.irqs[g]!.set(level),
    };
    this.real = new BulkSim(this.clock, wires, outputs);
    this.ahead = new BulkSim(this.clock, wires, outputs);
    for (const u of this.usarts) u.usart.attachBulk(this);
    this.dma.attachBulk(this);
    this.dmamux.attachBulk(this);
    this.bus.onObserverChange = () => this.release();
  }

  /** Whether the engine runs the domain's timing now. */
  get running(): boolean {
    return this.engaged;
  }

  release(): void {
    if (!this.engaged) {
      this.cannotRun = false;
      return;
    }
    if (this.busy) throw new Error('bulk engine: the domain was changed while the engine was working on it');
    this.settle();
    this.handBack(null);
    this.hear();
  }

  sync(part?: object): void {
    if (!this.engaged || this.busy) return;
    if (this.watchedFromOutside()) {
      this.release();
      return;
    }
    this.settle();
    if (part === this.usarts[0].usart) this.storeUsart(0, true);
    else if (part === this.usarts[1].usart) this.storeUsart(1, true);
    else if (part === this.dma) this.storeDma(true);
    else this.storeAll(true);
    this.hear();
  }

  appended(part: object): void {
    if (!this.engaged || this.busy) return;
    this.real.wireGrew(part === this.usarts[0].usart ? 0 : 1);
    this.aheadValid = false;
    this.planStop();
  }

  changed(part: object): void {
    if (!this.engaged || this.busy) return;
    const sim = this.real;
    if (part === this.dma) {
      for (let c = 0; c < DMA_CHANNELS; c++) sim.flags[c] = this.dma.flagsOf(c + 1);
      for (let g = 0; g < 3; g++) sim.dmaIrq[g] = this.dma.irqLevel(g) ? 1 : 0;
    } else {
      const u = part === this.usarts[0].usart ? 0 : 1;
      const s = this.usarts[u]!.usart.exportBulk();
      // The request lines are as they were (the USART writes in place only when none can change).
      sim.isr[u] = s.isr;
      sim.irq[u] = s.irqLevel ? 1 : 0;
    }
    this.aheadValid = false;
    this.planStop();
  }

  takeOver(): boolean {
    if (this.engaged || this.busy) return false;
    const firing = this.clock.firing;
    if (firing !== null && firing === this.skip) {
      this.skip = null;
      return false;
    }
    if (this.cannotRun || firing === null) return false;
    if (!this.load(firing)) {
      this.cannotRun = true;
      return false;
    }
    // The step that fired: one the peripherals' own code must take stays theirs.
    const real = this.real;
    if (real.needsReferenceAt(real.next())) return false;
    // Engaged: the peripherals' other timers leave the clock.
    this.takeTimersOff(firing);
    this.engaged = true;
    this.stats.takeOvers++;
    this.stats.steps++;
    this.bus.setAccessGuard(this.watched.length > 0 ? this.guard : null);
    this.busy = true;
    try {
      real.commit = true;
      real.run(real.next());
    } finally {
      this.busy = false;
    }
    this.afterStep();
    return true;
  }

  // ---------------------------------------------------------------- running

  /** Something that watches every step or access was attached: the peripherals' own code must run. */
  private watchedFromOutside(): boolean {
    if (this.bus.observed || this.dma.bulkObserved) return true;
    for (const u of this.usarts) if (u.usart.lineObserver !== null || u.usart.onTransmitStart) return true;
    return false;
  }

  /** Runs, lazily, every step the clock would have run before now (before the callback firing now). */
  private settle(): void {
    const firing = this.clock.firing;
    let due = firing ? firing.dueNs : this.clock.nowNs;
    let sched = firing ? firing.schedNs : Infinity;
    let seq = firing ? firing.seq : Infinity;
    // Never past the stop: steps from there on are the stop's to run (a callback due at the
    // same time and scheduled at the same time may fire before it).
    if (this.stop && (this.stopDue < due || (this.stopDue === due && this.stopSched <= sched))) {
      due = this.stopDue;
      sched = this.stopSched;
      seq = -Infinity;
    }
    const real = this.real;
    this.busy = true;
    try {
      real.commit = true;
      for (;;) {
        real.limit[0] = due;
        real.limit[1] = sched;
        real.limit[2] = seq;
        this.stats.steps += real.bulk(MANY_STEPS);
        const k = real.next();
        if (k < 0) break;
        const d = real.due[k]!;
        const s = real.sched[k]!;
        if (!(d < due || (d === due && (s < sched || (s === sched && real.seq[k]! < seq))))) break;
        real.seen = false;
        real.needsReference = false;
        real.run(k);
        this.stats.steps++;
        // The look-ahead put a stop before every step the outside sees: one here is the engine's fault.
        if (real.seen || real.needsReference)
          throw new Error(`bulk engine: a step at ${d} ns that the outside sees was run late`);
      }
    } finally {
      this.busy = false;
    }
  }

  /** The engine's stop on the clock. */
  private readonly onStop = (): void => {
    this.stop = undefined;
    if (!this.engaged) return;
    this.stats.stops++;
    if (this.watchedFromOutside()) {
      this.release();
      return;
    }
    const real = this.real;
    const due = this.stopDue;
    const sched = this.stopSched;
    this.busy = true;
    let reference = -1;
    try {
      real.commit = true;
      for (;;) {
        real.limit[0] = due;
        real.limit[1] = sched;
        real.limit[2] = Infinity;
        this.stats.steps += real.bulk(MANY_STEPS);
        const k = real.next();
        if (k < 0) break;
        const d = real.due[k]!;
        const s = real.sched[k]!;
        if (d > due || (d === due && s > sched)) break;
        const mine = d === due && s === sched;
        if (mine && k === this.stopTimer && this.stopKind === Stop.Reference) {
          reference = k;
          break;
        }
        real.seen = false;
        real.needsReference = false;
        real.run(k);
        this.stats.steps++;
        if (real.needsReference || (real.seen && !mine))
          throw new Error(`bulk engine: a step at ${d} ns the outside sees was run late`);
      }
    } finally {
      this.busy = false;
    }
    if (reference >= 0) {
      this.handBack(reference);
      this.hear();
      return;
    }
    this.afterStep();
  };

  /** After steps at their own time: the peripherals see the state, listeners hear, and the next stop. */
  private afterStep(): void {
    this.storeAll(true);
    this.hear();
    if (this.engaged) this.planStop();
  }

  /**
   * Looks ahead for the next step the outside sees and puts the engine's
   * stop there. The look-ahead goes on from where the last one stopped
   * when the real model has run exactly its steps since (it then stands
   * where the copy stands).
   */
  private planStop(): void {
    if (this.stop) this.clock.cancel(this.stop);
    this.stop = undefined;
    const ahead = this.ahead;
    const real = this.real;
    // Chains running plain for a while: the stop goes where the first step that may not be plain can come.
    const plain = real.plainUntil();
    if (plain > this.clock.nowNs && plain !== Infinity) {
      this.aheadValid = false;
      this.stopKind = Stop.Again;
      this.stopDue = plain;
      this.stopSched = -Infinity;
      this.stopTimer = -1;
      this.stop = this.clock.scheduleAt(
        { dueNs: plain, schedNs: -Infinity, seq: this.clock.allocateSeq() },
        this.onStop,
      );
      return;
    }
    if (this.aheadValid && ahead.steps === real.steps) {
      // The real model took the characters the copy looked at off the wire.
      ahead.wireOff.fill(0);
      this.lookAhead = Math.min(2 * this.lookAhead, LOOK_AHEAD_MOST);
    } else {
      ahead.copyFrom(real);
      ahead.startLookAhead();
      this.lookAhead = LOOK_AHEAD_FIRST;
    }
    const budget = this.lookAhead;
    this.aheadValid = false;
    let kind = Stop.Again;
    let due = Number.NaN;
    let sched = 0;
    let timer = -1;
    for (let steps = 1; ; steps++) {
      ahead.limit.fill(Infinity);
      const bulk = ahead.bulk(budget - steps);
      steps += bulk;
      this.stats.lookedAhead += bulk;
      const k = ahead.next();
      if (k < 0) break;
      due = ahead.due[k]!;
      sched = ahead.sched[k]!;
      timer = k;
      ahead.seen = false;
      ahead.needsReference = false;
      ahead.run(k);
      this.stats.lookedAhead++;
      if (ahead.needsReference) {
        kind = Stop.Reference;
        break;
      }
      if (ahead.seen) {
        kind = Stop.Seen;
        this.aheadValid = true;
        break;
      }
      if (steps >= budget) {
        this.aheadValid = true;
        break;
      }
    }
    if (Number.isNaN(due)) {
      if (ahead.steps === real.steps) return; // nothing moves
      // Only plain steps, then nothing: the activity ends with the last of them (steps are scheduled before they are due).
      due = ahead.now;
      sched = due;
    }
    if (kind === Stop.Again) this.aheadValid = true;
    this.stopKind = kind;
    this.stopDue = due;
    this.stopSched = sched;
    this.stopTimer = timer;
    this.stop = this.clock.scheduleAt(
      { dueNs: due, schedNs: sched, seq: this.clock.allocateSeq() },
      this.onStop,
    );
  }

  /** Hands listeners the characters they have not heard yet, in order (also those heard while it does). */
  private hear(): void {
    const sim = this.real;
    if (this.hearing || sim.heardCount === 0) return;
    this.hearing = true;
    try {
      for (let i = 0; i < sim.heardCount; i++) {
        this.usarts[sim.heardUsart[i]!]!.usart.onTransmit?.(sim.heardByte[i]!, sim.heardTime[i]!);
      }
    } finally {
      sim.heardCount = 0;
      this.hearing = false;
    }
  }

  // ---------------------------------------------------------------- taking over, handing back

  /** Reads the domain into the real model; false if the engine can't run it as it stands. */
  private load(firing: TimerKey): boolean {
    if (this.watchedFromOutside()) return false;
    const sim = this.real;
    const u1 = this.usarts[0].usart.exportBulk();
    const u2 = this.usarts[1].usart.exportBulk();
    const dma = this.dma.exportBulk();
    const mux = this.dmamux.exportBulk();
    sim.due.fill(Infinity);
    sim.wireOff.fill(0);
    const states = [u1, u2] as const;
    for (let u = 0; u < 2; u++) {
      const s = states[u]!;
      const spec = this.usarts[u]!;
      const usart = spec.usart;
      sim.cr1[u] = s.cr1;
      sim.cr2[u] = s.cr2;
      sim.cr3[u] = s.cr3;
      sim.frame[u] = s.frameNs ?? Number.NaN;
      sim.bit[u] = s.bitNs ?? Number.NaN;
      const m = ((s.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((s.cr1 & CR1_M0) !== 0 ? 1 : 0);
      sim.wordMask[u] = (1 << (m === 0 ? 8 : m === 1 ? 9 : 7)) - 1;
      const ue = (s.cr1 & CR1_UE) !== 0;
      sim.txRun[u] = s.clockEnabled && ue && (s.cr1 & CR1_TE) !== 0 ? 1 : 0;
      sim.rxRun[u] = s.clockEnabled && ue && (s.cr1 & CR1_RE) !== 0 ? 1 : 0;
      sim.live[u] = s.clockEnabled && ue ? 1 : 0;
      const timing = usart.onTransmit === undefined ? undefined : (usart.transmitTiming?.() ?? 'each');
      sim.delivery[u] =
        timing === undefined
          ? DELIVER_NONE
          : timing === 'batched'
            ? DELIVER_BATCHED
            : timing === 'batched-until-idle'
              ? DELIVER_UNTIL_IDLE
              : DELIVER_EXACT;
      sim.reqTx[u] = spec.txRequest;
      sim.reqRx[u] = spec.rxRequest;
      sim.isr[u] = s.isr;
      sim.rdr[u] = s.rdr;
      sim.tdr[u] = s.tdr;
      sim.txByte[u] = s.txByte;
      sim.tdrFull[u] = s.tdrFull ? 1 : 0;
      sim.txIdle[u] = s.txIdleFrame ? 1 : 0;
      sim.txOnWire[u] = s.txOnWire ? 1 : 0;
      sim.rxListening[u] = s.rxListening ? 1 : 0;
      sim.idleArmed[u] = s.idleArmed ? 1 : 0;
      sim.irq[u] = s.irqLevel ? 1 : 0;
      sim.txReq[u] = s.txReqLevel ? 1 : 0;
      sim.rxReq[u] = s.rxReqLevel ? 1 : 0;
      sim.rxStart[u] = s.rxStartNs;
      sim.rxFrame[u] = s.rxFrameNs;
      sim.rxHas[u] = s.rxHas ? 1 : 0;
      sim.rxByte[u] = s.rxByte;
      sim.rxErrors[u] = s.rxErrors;
      if (!this.loadTimer(3 * u + T_TX, s.txTimer, firing)) return false;
      if (!this.loadTimer(3 * u + T_RX, s.rxTimer, firing)) return false;
      if (!this.loadTimer(3 * u + T_IDLE, s.idleTimer, firing)) return false;
    }
    if (!this.loadTimer(T_SLOT, dma.timer, firing)) return false;
    sim.slotNs = (dma.cyclesPerItem * 1e9) / dma.hclkHz;
    sim.dmaClock = dma.clockEnabled;
    sim.dmaRuns = dma.clockEnabled && dma.hclkHz > 0;
    sim.items = dma.itemsTransferred;
    for (let g = 0; g < 3; g++) sim.dmaIrq[g] = dma.irqLevels[g] ? 1 : 0;
    for (let i = 0; i < sim.levels.length; i++) sim.levels[i] = mux.levels[i] ? 1 : 0;
    for (let x = 0; x < DMA_CHANNELS; x++) {
      sim.selected[x] = mux.selected[x]!;
      sim.outputs[x] = mux.outputs[x] ? 1 : 0;
    }
    this.watched.length = 0;
    const txFed = [false, false];
    for (let c = 0; c < DMA_CHANNELS; c++) {
      const ch = dma.channels[c]!;
      sim.ccr[c] = ch.ccr;
      sim.cndtr[c] = ch.cndtr;
      sim.programmed[c] = ch.programmed;
      sim.cpar[c] = ch.cpar;
      sim.cmar[c] = ch.cmar;
      sim.curP[c] = ch.curP;
      sim.curM[c] = ch.curM;
      sim.flags[c] = ch.flags;
      sim.request[c] = ch.request ? 1 : 0;
      sim.item[c] = ITEM_NONE;
      sim.mem[c] = null;
      if (!(ch.ccr & CCR_EN) || ch.cndtr === 0) continue;
      if (ch.ccr & CCR_MEM2MEM) return false;
      const id = mux.selected[c]!;
      let u = -1;
      let tx = false;
      for (let i = 0; i < 2; i++) {
        const spec = this.usarts[i]!;
        if (id !== 0 && id === spec.txRequest) {
          u = i;
          tx = true;
        } else if (id !== 0 && id === spec.rxRequest) u = i;
      }
      if (u < 0) continue; // no request the engine's peripherals drive: never served while it runs
      if (!this.loadItems(c, ch.ccr, u, tx, states[u]!)) return false;
      if (tx) txFed[u] = true;
    }
    for (let u = 0; u < 2; u++) {
      // A transmitter that starts characters must reach its pin (the USART reports it otherwise, at each one).
      const active = txFed[u] || sim.tdrFull[u] === 1 || sim.due[3 * u + T_TX] !== Infinity;
      if (sim.txRun[u] && active && !this.usarts[u]!.usart.txRouted()) return false;
    }
    sim.prepare();
    sim.steps = 0;
    this.usartStates = [u1, u2];
    this.dmaState = dma;
    this.muxState = mux;
    return true;
  }

  private loadTimer(k: number, handle: TimerHandle | undefined, firing: TimerKey): boolean {
    const sim = this.real;
    if (handle === undefined) {
      sim.due[k] = Infinity;
      return true;
    }
    const key = handle === firing ? firing : this.clock.keyOf(handle);
    if (key === undefined) return false;
    sim.due[k] = key.dueNs;
    sim.sched[k] = key.schedNs;
    sim.seq[k] = key.seq;
    return true;
  }

  /** A channel's items: 8-bit, between memory and USART u's data register, as its request asks. */
  private loadItems(c: number, ccr: number, u: number, tx: boolean, usart: UsartBulkState): boolean {
    const sim = this.real;
    if (ccr & CCR_PINC || ((ccr >>> 8) & 0xf) !== 0 || !usart.clockEnabled) return false;
    const base = this.usarts[u]!.usart.base;
    if (tx !== ((ccr & CCR_DIR) !== 0)) return false;
    if (sim.cpar[c] !== (base + (tx ? USART.TDR : USART.RDR)) >>> 0) return false;
    const step = ccr & CCR_MINC ? 1 : 0;
    const from = sim.curM[c]!;
    const region = this.memoryFor(from, from + step * (sim.cndtr[c]! - 1), tx);
    if (!region) return false;
    if (ccr & CCR_CIRC) {
      // Circular: the next laps start again at CMAR.
      const lap = sim.cmar[c]!;
      if (this.memoryFor(lap, lap + step * (sim.programmed[c]! - 1), tx) !== region) return false;
    }
    sim.item[c] = tx ? ITEM_TX : ITEM_RX;
    sim.target[c] = u;
    sim.mem[c] = region.u8;
    sim.memBase[c] = region.base;
    return true;
  }

  /** The memory holding [lo, hi], readable (and writable unless `read`), watched from now on; or undefined. */
  private memoryFor(lo: number, hi: number, read: boolean): MemoryRegion | undefined {
    if (hi < lo || hi > 0xffff_ffff) return undefined;
    const region = this.bus.memoryAt(lo);
    if (!region || hi >= region.base + region.size || (!read && !region.writable)) return undefined;
    this.watched.push(lo, hi);
    return region;
  }

  /** Takes the peripherals' pending timers off the clock: the engine runs them now. */
  private takeTimersOff(firing: TimerKey): void {
    const states = this.usartStates!;
    for (const s of states) {
      for (const h of [s.txTimer, s.rxTimer, s.idleTimer]) if (h && h !== firing) this.clock.cancel(h);
    }
    const t = this.dmaState!.timer;
    if (t && t !== firing) this.clock.cancel(t);
  }

  /** Timer k for a peripheral: a stand-in while the engine runs (`live`), else a clock timer at its place. */
  private timer(k: number, callback: () => void, live: boolean): TimerHandle | undefined {
    const sim = this.real;
    const due = sim.due[k]!;
    if (due === Infinity) return undefined;
    if (live) {
      const p = this.pseudo[k]!;
      p.dueNs = due;
      return p;
    }
    return this.clock.scheduleAt({ dueNs: due, schedNs: sim.sched[k]!, seq: sim.seq[k]! }, callback);
  }

  /**
   * Writes the real model back into the peripherals. Running (`live`), their
   * timers are stand-ins that only tell their due time; else they are clock
   * timers again at their places in the firing order.
   */
  private storeAll(live: boolean): void {
    this.storeUsart(0, live);
    this.storeUsart(1, live);
    this.storeDma(live);
  }

  private storeUsart(u: number, live: boolean): void {
    const sim = this.real;
    const s = this.usartStates![u]!;
    const port = this.ports[u]!;
    s.isr = sim.isr[u]!;
    s.rdr = sim.rdr[u]!;
    s.tdr = sim.tdr[u]!;
    s.tdrFull = sim.tdrFull[u] === 1;
    s.txByte = sim.txByte[u]!;
    s.txIdleFrame = sim.txIdle[u] === 1;
    s.txOnWire = sim.txOnWire[u] === 1;
    s.rxHas = sim.rxHas[u] === 1;
    s.rxByte = sim.rxByte[u]!;
    s.rxErrors = sim.rxErrors[u]!;
    s.rxStartNs = sim.rxStart[u]!;
    s.rxFrameNs = sim.rxFrame[u]!;
    s.rxListening = sim.rxListening[u] === 1;
    s.idleArmed = sim.idleArmed[u] === 1;
    s.irqLevel = sim.irq[u] === 1;
    s.txReqLevel = sim.txReq[u] === 1;
    s.rxReqLevel = sim.rxReq[u] === 1;
    s.txTimer = this.timer(3 * u + T_TX, port.onTxTimer, live);
    s.rxTimer = this.timer(3 * u + T_RX, port.onRxTimer, live);
    s.idleTimer = this.timer(3 * u + T_IDLE, port.onIdleTimer, live);
    this.usarts[u]!.usart.importBulk(s);
  }

  /** The DMA's state, and the request lines it and the DMAMUX see. */
  private storeDma(live: boolean): void {
    const sim = this.real;
    const d = this.dmaState!;
    for (let c = 0; c < DMA_CHANNELS; c++) {
      const ch = d.channels[c]! as {
        cndtr: number;
        curP: number;
        curM: number;
        flags: number;
        request: boolean;
      };
      ch.cndtr = sim.cndtr[c]!;
      ch.curP = sim.curP[c]!;
      ch.curM = sim.curM[c]!;
      ch.flags = sim.flags[c]!;
      ch.request = sim.request[c] === 1;
    }
    d.irqLevels[0] = sim.dmaIrq[0] === 1;
    d.irqLevels[1] = sim.dmaIrq[1] === 1;
    d.irqLevels[2] = sim.dmaIrq[2] === 1;
    d.itemsTransferred = sim.items;
    d.timer = this.timer(T_SLOT, this.dmaPort.onSlot, live);
    this.dma.importBulk(d);
    const mux = this.muxState!;
    for (let u = 0; u < 2; u++) {
      const tx = sim.reqTx[u]!;
      const rx = sim.reqRx[u]!;
      if (tx > 0 && tx < sim.levels.length) mux.levels[tx] = sim.levels[tx] === 1;
      if (rx > 0 && rx < sim.levels.length) mux.levels[rx] = sim.levels[rx] === 1;
    }
    for (let x = 0; x < DMA_CHANNELS; x++) mux.outputs[x] = sim.outputs[x] === 1;
  }

  /** Gives the timing back to the peripherals; `reference`: the timer whose step their own code takes next. */
  private handBack(reference: number | null): void {
    if (this.stop) this.clock.cancel(this.stop);
    this.stop = undefined;
    this.busy = true;
    try {
      this.storeAll(false);
    } finally {
      this.busy = false;
    }
    this.engaged = false;
    this.aheadValid = false;
    this.stats.handBacks++;
    this.bus.setAccessGuard(null);
    if (reference !== null) this.skip = this.handleOf(reference) ?? null;
  }

  private handleOf(k: number): TimerHandle | undefined {
    if (k === T_SLOT) return this.dmaState!.timer;
    const s = this.usartStates![k >= 3 ? 1 : 0]!;
    const kind = k % 3;
    return kind === T_TX ? s.txTimer : kind === T_RX ? s.rxTimer : s.idleTimer;
  }
}
