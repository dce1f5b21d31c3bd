/**
 * The system the model test drives: the real bridge firmware on a virtual
 * board, the driver on a fault-injecting link with the board's virtual
 * clock, and the program's state (the Serial1 it holds, its buffers, the
 * operations it started). After every step `check()` compares the board's
 * DMA registers with the driver's view and the program's, and the bytes the
 * USART1 peer received with the transfers that were allowed to send them.
 */

import type { Serial1, SerialRx, SerialTx } from '../../driver/api/index.ts';
import { Board, type DmaBuffer } from '../../driver/board/index.ts';
import {
  FaultInjector,
  type FaultRates,
  mulberry32,
  type Prng,
  type Timers,
} from '../../driver/transport/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';
import {
  describeRegion,
  driverView,
  hex,
  onRevoke,
  overlap,
  type RawAccess,
  type Region,
  rawAccess,
  runningChannels,
} from './board-view.ts';

/** USART1's rate (and the peer's): fast, so transfers end within a step. */
export const MODEL_BAUD = 2_000_000;

/** Any operation must end within this much of the board's time (far beyond any legitimate duration). */
export const DEADLINE_MS = 60_000;

/** The DMA1 channels the host may start (PROTOCOL.md §6); the firmware keeps the others for its link. */
const HOST_CHANNELS: readonly number[] = [1, 2];

/** Timer callbacks at one instant of virtual time beyond which time is taken to stand still. */
const SAME_INSTANT_LIMIT = 100_000;

export interface SystemOptions {
  seed: number;
  /** Faults on the host link in both directions, from the start of the first step. */
  rates: FaultRates;
}

/** A buffer the program holds, with the range the driver gave it (never read back through the object). */
export interface HeldBuffer {
  readonly id: number;
  buffer: DmaBuffer;
  readonly region: Region;
  /** owned: the program may use it; lent: moved into an operation; gone: freed or revoked. */
  state: 'owned' | 'lent' | 'gone';
}

/** Data a transmit operation may put on USART1, matched byte by byte against what the peer receives. */
interface Transmission {
  readonly id: number;
  readonly what: string;
  readonly data: Uint8Array;
  sent: number;
  /** Why it may no longer send, once it may not. */
  barred: string | undefined;
  /** Bytes it may still send once barred (what USART1's TDR and shift register held at a stop). */
  slack: number;
  /** Session boundaries counted when it was made: a boundary after it bars it. */
  readonly boundary: number;
}

/** What the program may say about a transmission. */
export interface Transmitting {
  /** It may send no more (but `slack` bytes already on their way). */
  bar(why: string, slack?: number): void;
  readonly sent: number;
}

/** A promise the program waits on (or dropped), with when it was made. */
interface Tracked {
  readonly what: string;
  readonly startMs: number;
  settled: boolean;
}

export type SerialState =
  | { kind: 'none' }
  | { kind: 'whole'; serial: Serial1 }
  | { kind: 'split'; tx: SerialTx | undefined; rx: SerialRx | undefined };

export class ModelFailure extends Error {}

export class ModelSystem {
  readonly vb: VirtualBoard;
  readonly injector: FaultInjector;
  readonly timers: Timers;
  readonly rng: Prng;
  board!: Board;
  raw!: RawAccess;
  serial: SerialState = { kind: 'none' };
  readonly held: HeldBuffer[] = [];
  readonly warnings: string[] = [];
  readonly notes: string[] = [];
  readonly violations: string[] = [];
  /** Session boundaries completed (recover, reconnect, a board reset). */
  boundaries = 0;
  steps = 0;
  private nextId = 1;
  private readonly transmissions: Transmission[] = [];
  private readonly tracked: Tracked[] = [];
  private frozen: string | undefined;
  private onFrozen: ((why: string) => void) | undefined;
  private readonly rates: FaultRates;
  private readonly unsubscribePeer: () => void;
  private stepName = '';

  private constructor(options: SystemOptions) {
    this.rng = mulberry32(options.seed);
    this.rates = options.rates;
    this.vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: MODEL_BAUD });
    this.vb.start();
    this.timers = this.watchedTimers(virtualTimers(this.vb));
    this.injector = new FaultInjector(this.vb.hostPort(), { seed: options.seed, timers: this.timers });
    this.unsubscribePeer = this.vb.peer.onByte((byte) => this.peerByte(byte));
  }

  static async open(options: SystemOptions): Promise<ModelSystem> {
    const system = new ModelSystem(options);
    // A clean line while the session opens, then the faults.
    system.board = await Board.open(system.injector, {
      timers: system.timers,
      random: () => system.rng.next(),
    });
    system.raw = rawAccess(system.board);
    // Revoked handles void every buffer and serial the program holds.
    onRevoke(system.board, () => system.revoked());
    system.cleanLine(false);
    return system;
  }

  async dispose(): Promise<void> {
    this.unsubscribePeer();
    await this.board?.close().catch(() => {});
    await this.vb.dispose();
  }

  /** The board's time, ms. */
  nowMs(): number {
    return this.vb.nowNs / 1e6;
  }

  newId(): number {
    return this.nextId++;
  }

  /** Turns the link's faults off (`true`) or back to the run's rates. */
  cleanLine(clean: boolean, rates: FaultRates = this.rates): void {
    const r = clean ? {} : rates;
    this.injector.setFaults('toDevice', r);
    this.injector.setFaults('fromDevice', r);
  }

  // ------------------------------------------------------------ steps

  /**
   * Runs one step: bounded in wall time (a step that never ends, or a board
   * whose time stands still, is a freeze), then the checks.
   */
  async step(name: string, body: () => Promise<void>, wallLimitMs: number): Promise<void> {
    this.steps++;
    this.stepName = name;
    if (this.frozen) throw new ModelFailure(`frozen before step ${name}: ${this.frozen}`);
    let wallTimer: ReturnType<typeof setTimeout> | undefined;
    const frozen = new Promise<'frozen'>((resolve) => {
      this.onFrozen = () => resolve('frozen');
      wallTimer = setTimeout(() => {
        this.frozen ??= `the step did not end within ${wallLimitMs} ms of wall time`;
        resolve('frozen');
      }, wallLimitMs);
    });
    const ran = body().then(
      () => 'done' as const,
      (error: unknown) => {
        if (error instanceof ModelFailure) throw error;
        this.note(`${name}: ${describeError(error)}`);
        return 'done' as const;
      },
    );
    try {
      const outcome = await Promise.race([ran, frozen]);
      if (outcome === 'frozen') {
        ran.catch(() => {});
        throw new ModelFailure(`freeze in step ${name}: ${this.frozen}`);
      }
    } finally {
      clearTimeout(wallTimer);
      this.onFrozen = undefined;
    }
    this.check(name);
  }

  note(text: string): void {
    if (this.notes.length < 200) this.notes.push(text);
  }

  /** Records a violation and fails the run. */
  fail(text: string): never {
    this.violations.push(text);
    throw new ModelFailure(text);
  }

  /** Lets `ms` of the board's time pass. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  /** Tracks a promise against the deadline; returns it with its rejection handled. */
  track<T>(what: string, promise: Promise<T>): Promise<T> {
    const t: Tracked = { what, startMs: this.nowMs(), settled: false };
    this.tracked.push(t);
    const done = () => {
      t.settled = true;
    };
    promise.then(done, done);
    return promise;
  }

  // ------------------------------------------------------------ buffers

  hold(buffer: DmaBuffer, region: Region): HeldBuffer {
    const h: HeldBuffer = { id: this.newId(), buffer, region, state: 'owned' };
    this.held.push(h);
    return h;
  }

  owned(): HeldBuffer[] {
    return this.held.filter((h) => h.state === 'owned');
  }

  pickOwned(index: number): HeldBuffer | undefined {
    const owned = this.owned();
    return owned.length === 0 ? undefined : owned[index % owned.length];
  }

  /** A buffer came back from an operation: the program owns it again. */
  handedBack(h: HeldBuffer, buffer: DmaBuffer): void {
    h.buffer = buffer;
    h.state = 'owned';
  }

  /** The driver revoked every handle: the program's buffers and serial are void. */
  revoked(): void {
    for (const h of this.held) h.state = 'gone';
    this.held.length = 0;
    this.serial = { kind: 'none' };
  }

  /**
   * A session boundary completed (recover() or reconnect() resolved, the
   * board was reset): no transmission made before it may send any more.
   */
  boundary(why: string): void {
    this.boundaries++;
    for (const t of this.transmissions) {
      if (t.boundary < this.boundaries) t.barred ??= `${why} completed after it was made`;
    }
  }

  // ------------------------------------------------------------ the peer's bytes

  /** Registers data a transmit operation may put on USART1. */
  transmission(what: string, data: Uint8Array): Transmitting {
    const t: Transmission = {
      id: this.newId(),
      what,
      data,
      sent: 0,
      barred: undefined,
      slack: 0,
      boundary: this.boundaries,
    };
    this.transmissions.push(t);
    if (this.transmissions.length > 64) {
      const i = this.transmissions.findIndex((x) => x.sent >= x.data.length || x.barred !== undefined);
      if (i >= 0) this.transmissions.splice(i, 1);
    }
    return {
      bar: (why, slack = 0) => {
        if (t.barred !== undefined) return;
        t.barred = why;
        t.slack = slack;
      },
      get sent() {
        return t.sent;
      },
    };
  }

  /** True while some transmission may still put bytes on USART1. */
  get transmitting(): boolean {
    return this.transmissions.some((t) => t.barred === undefined && t.sent < t.data.length);
  }

  private peerByte(byte: number): void {
    const live = this.transmissions.find(
      (t) => t.barred === undefined && t.sent < t.data.length && t.data[t.sent] === byte,
    );
    if (live) {
      live.sent++;
      return;
    }
    const barred = this.transmissions.find(
      (t) => t.barred !== undefined && t.sent < t.data.length && t.data[t.sent] === byte,
    );
    if (barred) {
      barred.sent++;
      if (barred.slack > 0) {
        barred.slack--;
        return;
      }
      this.violations.push(
        `the USART1 peer received byte ${barred.sent - 1} of ${barred.what} (#${barred.id}), which may no ` +
          `longer send: ${barred.barred} (during step ${this.stepName})`,
      );
      return;
    }
    this.violations.push(
      `the USART1 peer received ${hex(byte)}, which no transfer the program made was sending (during step ${this.stepName})`,
    );
  }

  // ------------------------------------------------------------ checks

  /** The board's DMA registers against the driver's and the program's view; deadlines; the peer's bytes. */
  check(after: string): void {
    const running = runningChannels(this.vb);
    const view = driverView(this.board);
    const problems: string[] = [];
    for (const ch of running) {
      const range = `channel ${ch.channel} runs on ${describeRegion(ch)} (CNDTR ${ch.cndtr})`;
      if (!HOST_CHANNELS.includes(ch.channel)) {
        // The firmware's own channels (its host link) never touch the arena.
        if (overlap(ch, view.arena))
          problems.push(`${range}, inside the arena ${describeRegion(view.arena)}`);
        continue;
      }
      for (const r of view.free) {
        if (overlap(ch, r)) problems.push(`${range}, but the driver would hand out ${describeRegion(r)}`);
      }
      for (const r of view.owned) {
        if (overlap(ch, r)) problems.push(`${range}, but the driver's ledger has ${describeRegion(r)} owned`);
      }
      for (const h of this.owned()) {
        if (overlap(ch, h.region)) {
          problems.push(`${range}, but the program owns buffer #${h.id} at ${describeRegion(h.region)}`);
        }
      }
    }
    for (let i = 0; i < running.length; i++) {
      if (!HOST_CHANNELS.includes(running[i]!.channel)) continue;
      for (let j = i + 1; j < running.length; j++) {
        if (overlap(running[i]!, running[j]!)) {
          problems.push(
            `channels ${running[i]!.channel} and ${running[j]!.channel} run on overlapping memory ` +
              `${describeRegion(running[i]!)} and ${describeRegion(running[j]!)}`,
          );
        }
      }
    }
    const now = this.nowMs();
    for (const t of this.tracked) {
      if (!t.settled && now - t.startMs > DEADLINE_MS) {
        problems.push(`${t.what} has not ended ${Math.round(now - t.startMs)} ms after it began`);
        t.settled = true; // reported once
      }
    }
    for (let i = this.tracked.length - 1; i >= 0; i--)
      if (this.tracked[i]!.settled) this.tracked.splice(i, 1);
    if (problems.length > 0) this.violations.push(...problems.map((p) => `after ${after}: ${p}`));
    if (this.violations.length > 0) throw new ModelFailure(this.violations.join('\n'));
  }

  // ------------------------------------------------------------ time

  /**
   * The driver's timers, watched: a timer callback that keeps firing at the
   * same instant of virtual time means the board's time stands still (the
   * run loop spins and nothing else can happen). The step fails as a freeze,
   * and callbacks stop firing so the loop can end.
   */
  private watchedTimers(inner: Timers): Timers {
    let lastNs = -1;
    let same = 0;
    return {
      now: () => inner.now(),
      setTimeout: (callback, ms) =>
        inner.setTimeout(() => {
          if (this.frozen) return;
          const now = this.vb.nowNs;
          if (now === lastNs) {
            if (++same > SAME_INSTANT_LIMIT) {
              this.frozen = `${same} timer callbacks fired at ${now} ns of virtual time: time stands still`;
              this.onFrozen?.(this.frozen);
              return;
            }
          } else {
            lastNs = now;
            same = 0;
          }
          callback();
        }, ms),
      clearTimeout: (id) => inner.clearTimeout(id),
    };
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}

/** `n` bytes unlikely to match another operation's (seeded per operation). */
export function tagged(id: number, n: number): Uint8Array {
  const rng = mulberry32((id * 0x9e37_79b1) >>> 0);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.byte();
  return out;
}
