/**
 * The bulk engine's fast path over its model (bulk-model.ts): the plain
 * characters of DMA-fed chains, a transmitter the DMA keeps fed and a
 * receiver the DMA empties, with the DMA's service slots between them, run
 * in one loop; and a bound on how long they stay plain, read off the
 * chains' state (a receiver's wire, a channel's count) without running
 * them. Both take exactly the steps the model's own would.
 */

import {
  BulkModel,
  DELIVER_EXACT,
  DELIVER_NONE,
  ITEM_RX,
  ITEM_TX,
  T_IDLE,
  T_RX,
  T_SLOT,
  T_TX,
  TIMERS,
} from './bulk-model.ts';
import { CCR_EN, CCR_MINC, DMA_CHANNELS } from './dma.ts';
import { CR1_PCE, ISR_CMF, ISR_FE, ISR_NE, ISR_PE, ISR_RXNE, ISR_TC, ISR_TXE } from './usart.ts';

export {
  DELIVER_BATCHED,
  DELIVER_EXACT,
  DELIVER_NONE,
  DELIVER_UNTIL_IDLE,
  ITEM_NONE,
  ITEM_RX,
  ITEM_TX,
  type SimOutputs,
  T_IDLE,
  T_RX,
  T_SLOT,
  T_TX,
  TIMERS,
} from './bulk-model.ts';

/** Characters of a receiver's wire `plainUntil` reads ahead at most. */
const PLAIN_SCAN = 4096;

export class BulkSim extends BulkModel {
  /** The key `bulk` stops before: due, scheduling time, order (fields: numbers as arguments are boxed). */
  readonly limit = new Float64Array(3);
  /** The channel feeding each USART's TDR, and the one emptying its RDR, alone on their requests (-1: none). */
  readonly txChannel = new Int32Array(2);
  readonly rxChannel = new Int32Array(2);
  /** The four cursors (2u + 0: TX, 1: RX) in the order the arbiter serves their channels; cursors without one last. */
  private readonly cursorsByPriority = new Int32Array(4);
  /**
   * What `plainUntil` read of each receiver's wire, kept while the wire and
   * the character match flag stay as they were: the end times of the
   * characters from number `scanFrom` (counting those taken since the model
   * was loaded, the one arriving being number taken - 1), `scanCount` of
   * them, the last one either not plain or the last read.
   */
  private readonly scanned = new Uint8Array(2);
  private readonly scanMatch = new Uint8Array(2);
  private readonly scanFrom = new Float64Array(2);
  private readonly scanCount = new Int32Array(2);
  private readonly scanEnds = [new Float64Array(PLAIN_SCAN + 1), new Float64Array(PLAIN_SCAN + 1)] as const;
  /** Scratch for `bulk`: the cursors' timers. */
  private readonly cursorTimers = new Int32Array(4);

  override copyFrom(o: BulkSim): void {
    super.copyFrom(o);
    this.txChannel.set(o.txChannel);
    this.rxChannel.set(o.rxChannel);
    this.cursorsByPriority.set(o.cursorsByPriority);
  }

  override prepare(): void {
    super.prepare();
    this.scanned.fill(0);
    this.taken.fill(0);
    for (let u = 0; u < 2; u++) {
      this.txChannel[u] = this.soleChannel(this.reqTx[u]!, ITEM_TX, u);
      this.rxChannel[u] = this.soleChannel(this.reqRx[u]!, ITEM_RX, u);
    }
    let m = 0;
    let placed = 0;
    for (let i = 0; i < this.enabledCount; i++) {
      const j = this.cursorOf(this.order[i]!);
      if (j >= 0 && !(placed & (1 << j))) {
        this.cursorsByPriority[m++] = j;
        placed |= 1 << j;
      }
    }
    for (let j = 0; j < 4; j++) if (!(placed & (1 << j))) this.cursorsByPriority[m++] = j;
  }

  private soleChannel(id: number, item: number, u: number): number {
    if (id <= 0 || id >= this.routes.length) return -1;
    const m = this.routes[id]!;
    if (m === 0 || (m & (m - 1)) !== 0) return -1;
    const c = 31 - Math.clz32(m);
    return this.item[c] === item && this.target[c] === u ? c : -1;
  }

  /**
   * Runs, in bulk, the plain steps of the DMA-fed chains (a transmitter the
   * DMA keeps fed, a receiver the DMA empties) and the DMA's service slots
   * between them, in the clock's order, before the key (limitDue,
   * limitSched, limitSeq) and before any other timer: a frame or character ends and
   * its request rises; a slot serves the pending request of the highest
   * priority (RM0444 §10.4.4) and the next slot follows while any is
   * pending. The same steps `run` takes, without going through the request
   * lines; it stops before any step that would set a flag, be heard at its
   * time, or leave the plain path (a character with an error or a match, a
   * request not served before its chain's next step, a count reaching half
   * or zero). Returns the steps taken (at most `maxSteps`).
   */
  bulk(maxSteps: number): number {
    if (!this.dmaClock || !this.dmaRuns) return 0;
    const limitDue = this.limit[0]!;
    const limitSched = this.limit[1]!;
    const limitSeq = this.limit[2]!;
    const due = this.due;
    const sched = this.sched;
    const seq = this.seq;
    // Cursor j = 2u + (0: TX, 1: RX) runs on timer 3u + (j & 1); `pending`: its request is up.
    let cursors = 0;
    let pending = 0;
    let endDue = limitDue;
    let endSched = limitSched;
    let endSeq = limitSeq;
    for (let k = 0; k < TIMERS - 1; k++) {
      if (due[k] === Infinity) continue;
      const u = k >= 3 ? 1 : 0;
      const kind = k - 3 * u;
      const j = 2 * u + kind;
      if (kind === T_TX && this.txChainReady(u)) {
        cursors |= 1 << j;
        if (this.txReq[u]) pending |= 1 << j;
      } else if (kind === T_RX && this.rxChainReady(u)) {
        cursors |= 1 << j;
        if (this.rxReq[u]) pending |= 1 << j;
      } else if (
        due[k]! < endDue ||
        (due[k] === endDue && (sched[k]! < endSched || (sched[k] === endSched && seq[k]! < endSeq)))
      ) {
        endDue = due[k]!;
        endSched = sched[k]!;
        endSeq = seq[k]!;
      }
    }
    if (cursors === 0) return 0;
    // Any request up must be a chain's, waiting for the pending slot.
    for (let i = 0; i < this.enabledCount; i++) {
      const c = this.order[i]!;
      if (!this.request[c] || this.cndtr[c] === 0) continue;
      const j = this.cursorOf(c);
      if (j < 0 || !(pending & (1 << j))) return 0;
    }
    if ((pending !== 0) !== (due[T_SLOT] !== Infinity)) return 0;
    // The cursors' timers, and the cursors in the arbiter's order (their channels' priority).
    const timers = this.cursorTimers;
    let n = 0;
    for (let j = 0; j < 4; j++) if (cursors & (1 << j)) timers[n++] = 3 * (j >> 1) + (j & 1);
    const byPriority = this.cursorsByPriority;
    const s = this.slotNs;
    // Order numbers of the timers made here: after every existing one; made final at the end.
    let local = 0;
    const fresh = Number.MAX_SAFE_INTEGER - 1e6;
    let steps = 0;
    let made = 0;
    while (steps < maxSteps) {
      // The next step: a cursor's, or the slot's.
      let k = T_SLOT;
      let d = due[T_SLOT]!;
      let ds = sched[T_SLOT]!;
      let dq = seq[T_SLOT]!;
      for (let i = 0; i < n; i++) {
        const kj = timers[i]!;
        const dj = due[kj]!;
        if (dj < d || (dj === d && (sched[kj]! < ds || (sched[kj] === ds && seq[kj]! < dq)))) {
          k = kj;
          d = dj;
          ds = sched[kj]!;
          dq = seq[kj]!;
        }
      }
      if (!(d < endDue || (d === endDue && (ds < endSched || (ds === endSched && dq < endSeq))))) break;
      this.now = d;
      if (k === T_SLOT) {
        let j = 0;
        for (let i = 0; i < 4; i++) {
          j = byPriority[i]!;
          if (pending & (1 << j)) break;
        }
        if (!(pending & (1 << j))) break;
        const u = j >> 1;
        if ((j & 1) === 0 ? !this.serveTx(u, this.txChannel[u]!) : !this.serveRx(u, this.rxChannel[u]!))
          break;
        pending &= ~(1 << j);
        if (pending !== 0) {
          due[T_SLOT] = Math.max(d + s, d + 1);
          sched[T_SLOT] = d;
          seq[T_SLOT] = fresh + local++;
          made |= 1 << T_SLOT;
        } else due[T_SLOT] = Infinity;
      } else {
        const u = k >= 3 ? 1 : 0;
        const j = 2 * u + (k - 3 * u);
        if (pending & (1 << j)) break; // its request not served yet: not the plain path
        if ((j & 1) === 0 ? !this.riseTx(u) : !this.riseRx(u)) break;
        seq[k] = fresh + local++;
        made |= 1 << k;
        pending |= 1 << j;
        if (due[T_SLOT] === Infinity) {
          due[T_SLOT] = Math.max(d + s, d + 1);
          sched[T_SLOT] = d;
          seq[T_SLOT] = fresh + local++;
          made |= 1 << T_SLOT;
        }
      }
      steps++;
    }
    if (steps === 0) return 0;
    this.steps += steps;
    // The request lines as the steps left them.
    for (let j = 0; j < 4; j++) {
      if (!(cursors & (1 << j))) continue;
      const u = j >> 1;
      const up = (pending >> j) & 1;
      const c = (j & 1) === 0 ? this.txChannel[u]! : this.rxChannel[u]!;
      if ((j & 1) === 0) {
        this.txReq[u] = up;
        this.levels[this.reqTx[u]!] = up;
      } else {
        this.rxReq[u] = up;
        this.levels[this.reqRx[u]!] = up;
      }
      this.outputs[c] = up;
      this.request[c] = up;
    }
    // The timers made here get their final order numbers, in the order they were made.
    for (;;) {
      let k = -1;
      let q = Infinity;
      for (let i = 0; i < TIMERS; i++) {
        if (made & (1 << i) && seq[i]! < q) {
          k = i;
          q = seq[i]!;
        }
      }
      if (k < 0) break;
      made &= ~(1 << k);
      seq[k] = this.commit ? this.clock.allocateSeq() : this.lookSeq++;
    }
    return steps;
  }

  /**
   * A time before which every step is a plain step of the DMA-fed chains
   * (what `bulk` runs), worked out without running them: each receiver's
   * next character that is not plain (an error, a match, the wire's end)
   * or whose transfer sets a flag ends no sooner than the wire says; each
   * transmitter's transfer that sets a flag comes no sooner than the frame
   * end before it; any other timer, no sooner than it is due. NaN when the
   * state is not that of chains (the look-ahead then runs the steps).
   */
  plainUntil(): number {
    if (!this.dmaClock || !this.dmaRuns) return Number.NaN;
    const due = this.due;
    let bound = Infinity;
    let cursors = 0;
    let pending = 0;
    for (let k = 0; k < TIMERS - 1; k++) {
      if (due[k] === Infinity) continue;
      const u = k >= 3 ? 1 : 0;
      const kind = k - 3 * u;
      const j = 2 * u + kind;
      if (kind === T_TX && this.txChainReady(u)) {
        cursors |= 1 << j;
        if (this.txReq[u]) pending |= 1 << j;
      } else if (kind === T_RX && this.rxChainReady(u)) {
        cursors |= 1 << j;
        if (this.rxReq[u]) pending |= 1 << j;
      } else if (due[k]! < bound) bound = due[k]!;
    }
    if (cursors === 0) return Number.NaN;
    for (let i = 0; i < this.enabledCount; i++) {
      const c = this.order[i]!;
      if (!this.request[c] || this.cndtr[c] === 0) continue;
      const j = this.cursorOf(c);
      if (j < 0 || !(pending & (1 << j))) return Number.NaN;
    }
    if ((pending !== 0) !== (due[T_SLOT] !== Infinity)) return Number.NaN;
    for (let j = 0; j < 4; j++) {
      if (!(cursors & (1 << j))) continue;
      const waiting = (pending & (1 << j)) !== 0;
      const b = (j & 1) === 0 ? this.txPlainUntil(j >> 1, waiting) : this.rxPlainUntil(j >> 1, waiting);
      if (b < bound) bound = b;
    }
    return bound;
  }

  /** The transfers from now (1, 2, ...) at which a channel's count reaches half or zero: the nearer. */
  private flagItem(c: number): number {
    const left = this.cndtr[c]!;
    const half = Math.floor(this.programmed[c]! / 2);
    return half < left ? left - half : left;
  }

  private txPlainUntil(u: number, waiting: boolean): number {
    const c = this.txChannel[u]!;
    const frame = this.frame[u]!;
    // Each transfer comes well before the frame end after it: at most one slot per channel in between.
    if (!(frame > (DMA_CHANNELS + 1) * this.slotNs)) return this.due[3 * u + T_TX]!;
    const m = this.flagItem(c);
    // Transfer 1 comes with the pending slot if waiting, else after the frame now leaving; each next, a frame later.
    if (waiting && m === 1) return this.due[T_SLOT]!;
    let e = this.due[3 * u + T_TX]!;
    for (let i = waiting ? 2 : 1; i < m; i++) e = Math.max(e + frame, e + 1);
    return e;
  }

  private rxPlainUntil(u: number, waiting: boolean): number {
    const c = this.rxChannel[u]!;
    const m = this.flagItem(c);
    if (waiting && m === 1) return this.due[T_SLOT]!;
    const matchSeen = (this.isr[u]! & ISR_CMF) !== 0 ? 1 : 0;
    const current = this.taken[u]! - 1;
    if (
      !this.scanned[u] ||
      this.wireChanged[u] ||
      this.scanMatch[u] !== matchSeen ||
      current < this.scanFrom[u]! ||
      current >= this.scanFrom[u]! + this.scanCount[u]!
    )
      this.scanWire(u, matchSeen);
    // Character i from the one arriving ends at ends[first + i]; its transfer is number i + 1 (+1 if one waits).
    const ends = this.scanEnds[u]!;
    const first = current - this.scanFrom[u]!;
    const count = this.scanCount[u]!;
    const flagChar = m - 1 - (waiting ? 1 : 0);
    const last = ends[count - 1]!;
    return first + flagChar < count && ends[first + flagChar]! < last ? ends[first + flagChar]! : last;
  }

  /** Reads a receiver's wire from the character arriving up to the first that is not plain (or PLAIN_SCAN). */
  private scanWire(u: number, matchSeen: number): void {
    const wire = this.wires[u]!;
    const add = this.cr2[u]! >>> 24;
    const errorBits = this.cr1[u]! & CR1_PCE ? ISR_PE | ISR_FE | ISR_NE : ISR_FE | ISR_NE;
    const mask = this.wordMask[u]!;
    const frame = this.frame[u]!;
    const slots = (DMA_CHANNELS + 1) * this.slotNs;
    const ends = this.scanEnds[u]!;
    const bytes = wire.bytes;
    const errorsOf = wire.errorBits;
    const senders = wire.senders;
    const durations = wire.durations;
    const head = wire.head;
    const ring = wire.mask;
    const waiting = wire.length;
    let r = this.due[3 * u + T_RX]!;
    let byte = this.rxByte[u]!;
    let errors = this.rxErrors[u]!;
    let n = 0;
    ends[n++] = r;
    for (let off = 0; n <= PLAIN_SCAN; off++) {
      // The character ending at r is not plain, or the next can't follow it plainly: the scan ends there.
      if (byte < 0 || (errors & errorBits) !== 0) break;
      if ((byte & mask & 0xff) === add && !matchSeen) break;
      if (off >= waiting) break;
      const at = (head + off) & ring;
      let length = durations[at]!;
      if (Number.isNaN(length)) {
        if (!Number.isNaN(senders[at]!) || Number.isNaN(frame)) break;
        length = frame;
      }
      // Each transfer comes well before the next character ends: at most one slot per channel in between.
      if (!(length > slots)) break;
      r = Math.max(r + length, r + 1);
      ends[n++] = r;
      byte = bytes[at]!;
      errors = errorsOf[at]!;
    }
    this.scanned[u] = 1;
    this.wireChanged[u] = 0;
    this.scanMatch[u] = matchSeen;
    this.scanFrom[u] = this.taken[u]! - 1;
    this.scanCount[u] = n;
  }

  /** The cursor of a chain's channel, or -1. */
  private cursorOf(c: number): number {
    for (let u = 0; u < 2; u++) {
      if (this.txChannel[u] === c) return 2 * u;
      if (this.rxChannel[u] === c) return 2 * u + 1;
    }
    return -1;
  }

  /** A transmitter the DMA keeps fed: shifting, the next character in TDR or asked for, no interrupt on TXE. */
  private txChainReady(u: number): boolean {
    const c = this.txChannel[u]!;
    return (
      c >= 0 &&
      this.txIdle[u] === 0 &&
      this.txRun[u] === 1 &&
      this.tdrFull[u] !== this.txReq[u] &&
      this.txReq[u] === this.request[c] &&
      (this.isr[u]! & ISR_TC) === 0 &&
      (this.irqBits[u]! & ISR_TXE) === 0 &&
      this.delivery[u] !== DELIVER_EXACT &&
      !Number.isNaN(this.frame[u]!) &&
      (this.ccr[c]! & CCR_EN) !== 0 &&
      this.cndtr[c]! > 0
    );
  }

  /** A receiver the DMA empties: a character arriving, RDR read or its reading asked for, no interrupt on RXNE. */
  private rxChainReady(u: number): boolean {
    const c = this.rxChannel[u]!;
    return (
      c >= 0 &&
      this.rxHas[u] === 1 &&
      this.rxListening[u] === 1 &&
      this.rxRun[u] === 1 &&
      (this.isr[u]! & ISR_RXNE ? 1 : 0) === this.rxReq[u] &&
      this.rxReq[u] === this.request[c] &&
      this.due[3 * u + T_IDLE] === Infinity &&
      (this.irqBits[u]! & ISR_RXNE) === 0 &&
      !(this.ddre[u] === 1 && (this.isr[u]! & (ISR_PE | ISR_FE | ISR_NE)) !== 0) &&
      (this.ccr[c]! & CCR_EN) !== 0 &&
      this.cndtr[c]! > 0
    );
  }

  /** A plain frame end now: the next character leaves, TDR is asked for. */
  private riseTx(u: number): boolean {
    const t = this.now;
    const end = Math.max(t + this.frame[u]!, t + 1);
    const k = 3 * u + T_TX;
    if (this.commit && this.delivery[u] !== DELIVER_NONE && this.txOnWire[u])
      this.heardNow(u, this.txByte[u]!);
    this.txByte[u] = this.tdr[u]!;
    this.tdrFull[u] = 0;
    this.txOnWire[u] = 1;
    this.due[k] = end;
    this.sched[k] = t;
    return true;
  }

  /** A slot now moves the next memory byte to TDR. */
  private serveTx(u: number, c: number): boolean {
    const t = this.now;
    const left = this.cndtr[c]! - 1;
    if (left <= 0 || left === Math.floor(this.programmed[c]! / 2)) return false;
    // Its frame must end after the slot (TDR full when the shift register frees).
    if (!(this.due[3 * u + T_TX]! > t)) return false;
    this.tdr[u] = this.commit ? this.mem[c]![this.curM[c]! - this.memBase[c]!]! : 0;
    this.tdrFull[u] = 1;
    this.items++;
    if (this.ccr[c]! & CCR_MINC) this.curM[c] = this.curM[c]! + 1;
    this.cndtr[c] = left;
    return true;
  }

  /** A plain character ends now: it lands in RDR, the next starts, RDR's reading is asked for. */
  private riseRx(u: number): boolean {
    const t = this.now;
    const byte = this.rxByte[u]!;
    if (
      byte < 0 ||
      (this.rxErrors[u]! & (this.cr1[u]! & CR1_PCE ? ISR_PE | ISR_FE | ISR_NE : ISR_FE | ISR_NE)) !== 0
    )
      return false;
    const rdr = byte & this.wordMask[u]!;
    if ((rdr & 0xff) === this.cr2[u]! >>> 24 && !(this.isr[u]! & ISR_CMF)) return false;
    const wire = this.wires[u]!;
    const off = this.wireOff[u]!;
    if (off >= wire.length) return false;
    const at = (wire.head + off) & wire.mask;
    let length = wire.durations[at]!;
    if (Number.isNaN(length)) {
      if (!Number.isNaN(wire.senders[at]!)) return false;
      length = this.frame[u]!;
      if (Number.isNaN(length)) return false;
    }
    this.rxByte[u] = wire.bytes[at]!;
    this.rxErrors[u] = wire.errorBits[at]!;
    if (this.commit) {
      wire.shift();
      this.taken[u]!++;
    } else this.wireOff[u] = off + 1;
    const k = 3 * u + T_RX;
    this.isr[u]! |= ISR_RXNE;
    this.rdr[u] = rdr;
    this.idleArmed[u] = 1;
    this.rxStart[u] = t;
    this.rxFrame[u] = length;
    this.due[k] = Math.max(t + length, t + 1);
    this.sched[k] = t;
    return true;
  }

  /** A slot now moves RDR to memory. */
  private serveRx(u: number, c: number): boolean {
    const t = this.now;
    const left = this.cndtr[c]! - 1;
    if (left <= 0 || left === Math.floor(this.programmed[c]! / 2)) return false;
    // The next character must end after the slot (else an overrun).
    if (!(this.due[3 * u + T_RX]! > t)) return false;
    this.isr[u]! &= ~ISR_RXNE;
    if (this.commit) this.mem[c]![this.curM[c]! - this.memBase[c]!] = this.rdr[u]!;
    this.items++;
    if (this.ccr[c]! & CCR_MINC) this.curM[c] = this.curM[c]! + 1;
    this.cndtr[c] = left;
    return true;
  }
}
