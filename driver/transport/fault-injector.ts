/**
 * A transport middle that damages traffic on purpose, to prove the link
 * survives a bad line. It wraps the host's transport: `toDevice` faults
 * apply to what the host writes, `fromDevice` faults to what it reads.
 *
 * Every decision comes from a seeded PRNG (one per direction, so the two
 * directions do not perturb each other's sequence), so a failing run
 * replays exactly from its seed. Bytes keep their order within a direction
 * except when a run of them is delayed: then later bytes overtake it, which
 * is the only reordering a serial line with buffering can show.
 */

import { BytePipe } from './byte-pipe.ts';
import { TransportClosedError } from './errors.ts';
import { mulberry32, type Prng } from './prng.ts';
import { realTimers, type Timers } from './timers.ts';
import type { Transport, TransportInfo } from './transport.ts';

export type Direction = 'toDevice' | 'fromDevice';

/** Per-byte probabilities (0..1) and their parameters. */
export interface FaultRates {
  /** Flip one random bit of the byte. */
  bitFlip?: number;
  /** Lose the byte. */
  drop?: number;
  /** Send the byte twice. */
  duplicate?: number;
  /** Insert a burst of random bytes (1..garbageMaxLength) before the byte. */
  garbage?: number;
  garbageMaxLength?: number;
  /** Hold back a run of bytes (this one and up to delayMaxRun − 1 after it) for delayMs. */
  delay?: number;
  delayMs?: number;
  delayMaxRun?: number;
  /** Cut the link once this many bytes have passed in this direction. */
  cutAfterBytes?: number;
}

/**
 * How a cut looks to the host: 'close' ends its streams (an unplugged USB
 * device), 'silent' swallows every byte in both directions (a cable pulled
 * out of a plain UART: the host only sees silence).
 */
export type CutMode = 'close' | 'silent';

export interface FaultInjectorOptions {
  seed: number;
  toDevice?: FaultRates;
  fromDevice?: FaultRates;
  cutMode?: CutMode;
  timers?: Timers;
}

export interface FaultCounters {
  /** Bytes that entered this direction. */
  bytes: number;
  bitFlips: number;
  dropped: number;
  duplicated: number;
  garbageBursts: number;
  garbageBytes: number;
  delayedRuns: number;
  delayedBytes: number;
  /** Bytes swallowed after a silent cut. */
  swallowed: number;
}

const zeroCounters = (): FaultCounters => ({
  bytes: 0,
  bitFlips: 0,
  dropped: 0,
  duplicated: 0,
  garbageBursts: 0,
  garbageBytes: 0,
  delayedRuns: 0,
  delayedBytes: 0,
  swallowed: 0,
});

class Lane {
  readonly counters = zeroCounters();
  rates: FaultRates;
  private delayRunLeft = 0;
  private delayed: number[] = [];

  constructor(
    readonly rng: Prng,
    rates: FaultRates | undefined,
  ) {
    this.rates = { ...rates };
  }

  /**
   * Applies the faults to `chunk`; returns the bytes to pass on now. Bytes
   * held back are handed to `later` as one run when their delay is over.
   */
  process(chunk: Uint8Array, later: (run: Uint8Array, ms: number) => void): Uint8Array {
    const r = this.rates;
    const rng = this.rng;
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i]!;
      this.counters.bytes++;
      if (r.garbage && rng.next() < r.garbage) {
        const n = 1 + rng.int(r.garbageMaxLength ?? 8);
        this.counters.garbageBursts++;
        this.counters.garbageBytes += n;
        for (let k = 0; k < n; k++) out.push(rng.byte());
      }
      if (r.drop && rng.next() < r.drop) {
        this.counters.dropped++;
        continue;
      }
      if (r.bitFlip && rng.next() < r.bitFlip) {
        b ^= 1 << rng.int(8);
        this.counters.bitFlips++;
      }
      const copies = r.duplicate && rng.next() < r.duplicate ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      if (this.delayRunLeft === 0 && r.delay && rng.next() < r.delay) {
        this.delayRunLeft = 1 + rng.int(r.delayMaxRun ?? 16);
        this.counters.delayedRuns++;
      }
      for (let c = 0; c < copies; c++) {
        if (this.delayRunLeft > 0) this.delayed.push(b);
        else out.push(b);
      }
      if (this.delayRunLeft > 0) {
        this.counters.delayedBytes++;
        this.delayRunLeft--;
        if (this.delayRunLeft === 0) this.flushDelayed(later);
      }
    }
    // A run still open at the end of the chunk leaves now rather than wait
    // for bytes that may never come.
    if (this.delayed.length > 0) {
      this.delayRunLeft = 0;
      this.flushDelayed(later);
    }
    return Uint8Array.from(out);
  }

  private flushDelayed(later: (run: Uint8Array, ms: number) => void): void {
    later(Uint8Array.from(this.delayed), this.rates.delayMs ?? 20);
    this.delayed = [];
  }
}

export class FaultInjector implements Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info: TransportInfo;

  private readonly lanes: Record<Direction, Lane>;
  private readonly fromDevicePipe = new BytePipe('fault injector (device → host)');
  private readonly timers: Timers;
  private readonly cutMode: CutMode;
  private readonly pendingTimers = new Set<unknown>();
  private innerWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
  private innerReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private cutState: CutMode | undefined;
  private closed = false;

  constructor(
    private readonly inner: Transport,
    options: FaultInjectorOptions,
  ) {
    this.timers = options.timers ?? realTimers;
    this.cutMode = options.cutMode ?? 'close';
    this.lanes = {
      toDevice: new Lane(mulberry32(options.seed), options.toDevice),
      fromDevice: new Lane(mulberry32((options.seed ^ 0x9e37_79b9) >>> 0), options.fromDevice),
    };
    this.info = { kind: 'fault-injector', description: `faults over ${inner.info?.kind ?? 'a transport'}` };
    this.readable = this.fromDevicePipe.readable;
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
    void this.pumpFromDevice();
  }

  /** What was injected in each direction so far. */
  get counters(): Readonly<Record<Direction, Readonly<FaultCounters>>> {
    return { toDevice: this.lanes.toDevice.counters, fromDevice: this.lanes.fromDevice.counters };
  }

  get isCut(): boolean {
    return this.cutState !== undefined;
  }

  /** Changes the fault rates of one direction from now on (e.g. clean until a session is open). */
  setFaults(direction: Direction, rates: FaultRates): void {
    this.lanes[direction].rates = { ...rates };
  }

  /** Cuts the link in both directions, now. */
  cut(mode: CutMode = this.cutMode): void {
    if (this.cutState !== undefined) return;
    this.cutState = mode;
    if (mode === 'close') {
      this.fromDevicePipe.end();
      void this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.pendingTimers) this.timers.clearTimeout(t);
    this.pendingTimers.clear();
    this.fromDevicePipe.end();
    try {
      await this.innerReader?.cancel();
    } catch {
      // The inner stream already failed; closing is all that is left.
    }
    this.innerWriter?.releaseLock();
    await this.inner.close();
  }

  private later(deliver: (run: Uint8Array) => void): (run: Uint8Array, ms: number) => void {
    return (run, ms) => {
      const id = this.timers.setTimeout(() => {
        this.pendingTimers.delete(id);
        if (this.cutState === undefined && !this.closed) deliver(run);
      }, ms);
      this.pendingTimers.add(id);
    };
  }

  private checkCut(lane: Lane): void {
    const limit = lane.rates.cutAfterBytes;
    if (limit !== undefined && lane.counters.bytes >= limit) this.cut();
  }

  private async write(chunk: Uint8Array): Promise<void> {
    const lane = this.lanes.toDevice;
    if (this.cutState === 'silent') {
      lane.counters.swallowed += chunk.length;
      return;
    }
    if (this.cutState === 'close' || this.closed) {
      throw new TransportClosedError('the link was cut (fault injector)');
    }
    const limit = lane.rates.cutAfterBytes;
    let piece = chunk;
    if (limit !== undefined && lane.counters.bytes + chunk.length >= limit) {
      piece = chunk.subarray(0, Math.max(0, limit - lane.counters.bytes));
    }
    this.innerWriter ??= this.inner.writable.getWriter();
    const writer = this.innerWriter;
    const out = lane.process(
      piece,
      this.later((run) => {
        writer.write(run).catch(() => {
          // The device end went away while this run was held back; it is lost like on a real line.
        });
      }),
    );
    if (out.length > 0) await writer.write(out);
    this.checkCut(lane);
  }

  private async pumpFromDevice(): Promise<void> {
    const lane = this.lanes.fromDevice;
    const reader = this.inner.readable.getReader();
    this.innerReader = reader;
    const deliver = this.later((run) => this.fromDevicePipe.push(run));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (this.cutState === 'silent') {
          lane.counters.swallowed += value.length;
          continue;
        }
        if (this.cutState === 'close') break;
        const limit = lane.rates.cutAfterBytes;
        let piece = value;
        if (limit !== undefined && lane.counters.bytes + value.length >= limit) {
          piece = value.subarray(0, Math.max(0, limit - lane.counters.bytes));
        }
        const out = lane.process(piece, deliver);
        if (out.length > 0) this.fromDevicePipe.push(out);
        this.checkCut(lane);
      }
      this.fromDevicePipe.end();
    } catch (e) {
      this.fromDevicePipe.fail(
        new TransportClosedError(`the device side of the link failed: ${(e as Error).message ?? e}`),
      );
    }
  }
}
