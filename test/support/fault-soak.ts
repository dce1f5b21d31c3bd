/**
 * A fault soak: the whole system (driver, real firmware on the virtual
 * board) through the fault injector, running a seeded random mix of DMA
 * writes, reads, circular reception, stream writes and register and memory
 * operations. Every operation must complete, or fail with a typed
 * DriverError, within its deadline; every byte must arrive whole and in
 * order; and at no moment may a region the allocator could hand out, or a
 * buffer the program holds, be one a DMA channel still uses. A failed
 * operation is followed by board.recover(), as an application would.
 *
 * Deadlines and the injector's delays run in the board's virtual time, so
 * a seed replays exactly.
 */

import { Serial1 } from '../../driver/api/index.ts';
import { Board, type DmaBuffer } from '../../driver/board/index.ts';
import { DriverError } from '../../driver/driver-error.ts';
import { FaultInjector, type FaultRates, mulberry32, type Prng } from '../../driver/transport/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { CCR_CIRC, CCR_EN, DMA } from '../../emulator/stm32g071/dma.ts';
import { loadFirmware } from './firmware.ts';
import { virtualTimers } from './virtual-timers.ts';

export interface SoakConfig {
  readonly name: string;
  readonly seed: number;
  /** Faults in both directions. */
  readonly rates: FaultRates;
  readonly operations: number;
  /** USART1's rate (the host link runs at the firmware's). */
  readonly baudRate?: number;
  /** Largest payload of one operation, bytes. */
  readonly maxBytes?: number;
  /**
   * Every this many operations, one runs through an outage: most bytes are
   * lost, so requests time out, starts end in doubt and the program has to
   * recover (board.recover()).
   */
  readonly outageEvery?: number;
}

export interface SoakReport {
  readonly name: string;
  readonly seed: number;
  operations: number;
  completed: number;
  /** Typed failures, by error class. */
  readonly failures: Record<string, number>;
  /** Operations that neither completed nor failed within their deadline. */
  hangs: number;
  /** Data that arrived wrong (must stay empty). */
  readonly corruptions: string[];
  /** A region handed out (or free) while a DMA channel could touch it, an untyped error, a failed recovery. */
  readonly violations: string[];
  recoveries: number;
  bytesMoved: number;
  /** Bytes the injector damaged, dropped, duplicated, inserted or delayed. */
  faultsInjected: number;
  retransmissions: number;
  eventsLost: number;
  virtualMs: number;
}

type Op = 'write' | 'read' | 'circular' | 'stream' | 'stream-abort' | 'register' | 'memory';
const OPS: readonly Op[] = ['write', 'read', 'circular', 'stream', 'stream-abort', 'register', 'memory'];

/** An operation's deadline in the board's time: far beyond any legitimate duration. */
const DEADLINE_MS = 60_000;

class Hang extends Error {}

export async function runSoak(config: SoakConfig): Promise<SoakReport> {
  const rng = mulberry32(config.seed);
  const report: SoakReport = {
    name: config.name,
    seed: config.seed,
    operations: 0,
    completed: 0,
    failures: {},
    hangs: 0,
    corruptions: [],
    violations: [],
    recoveries: 0,
    bytesMoved: 0,
    faultsInjected: 0,
    retransmissions: 0,
    eventsLost: 0,
    virtualMs: 0,
  };
  const baudRate = config.baudRate ?? 2_000_000;
  const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: baudRate });
  vb.start();
  const timers = virtualTimers(vb);
  const injector = new FaultInjector(vb.hostPort(), { seed: config.seed, timers });
  // A clean line while the session opens, then the faults.
  const board = await Board.open(injector, { timers, random: () => rng.next() });
  injector.setFaults('toDevice', config.rates);
  injector.setFaults('fromDevice', config.rates);
  const maxBytes = config.maxBytes ?? 1024;
  let serial: Serial1 | undefined;
  const held = new Set<DmaBuffer>();

  const deadline = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = timers.setTimeout(() => reject(new Hang()), DEADLINE_MS);
      p.then(
        (v) => {
          timers.clearTimeout(id);
          resolve(v);
        },
        (e: unknown) => {
          timers.clearTimeout(id);
          reject(e);
        },
      );
    });

  const checkArena = (when: string) => {
    for (const n of [1, 2]) {
      const dma = vb.chip.dma1;
      const ccr = dma.read(DMA.CCR(n), 4);
      const cndtr = dma.read(DMA.CNDTR(n), 4) & 0xffff;
      if ((ccr & CCR_EN) === 0 || (cndtr === 0 && (ccr & CCR_CIRC) === 0)) continue;
      const cmar = dma.read(DMA.CMAR(n), 4);
      // The whole buffer for circular reception; what is left otherwise.
      const size = 1 << ((ccr >>> 10) & 3);
      const from = ccr & CCR_CIRC ? cmar : cmar;
      const to = cmar + cndtr * size;
      const overlaps = (a: number, len: number) => a < to && from < a + len;
      for (const r of board.inspectArena().free) {
        if (overlaps(r.address, r.length)) {
          report.violations.push(
            `${when}: free region 0x${r.address.toString(16)} is under channel ${n}'s DMA`,
          );
        }
      }
      for (const b of held) {
        if (b.usable && overlaps(b.address, b.length)) {
          report.violations.push(
            `${when}: a usable buffer at 0x${b.address.toString(16)} is under channel ${n}'s DMA`,
          );
        }
      }
    }
  };

  const alloc = (length: number): DmaBuffer => {
    const b = board.alloc(length);
    held.add(b);
    return b;
  };
  const release = (b: DmaBuffer) => {
    held.delete(b);
    if (b.usable) b.free();
  };

  const recover = async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        serial = undefined;
        held.clear();
        await deadline(board.recover());
        report.recoveries++;
        const ch = vb.chip.dma1;
        for (const n of [1, 2]) {
          if (ch.read(DMA.CCR(n), 4) & CCR_EN)
            report.violations.push(`channel ${n} still enabled after recover()`);
        }
        return;
      } catch (e) {
        if (!(e instanceof DriverError) && !(e instanceof Hang)) throw e;
      }
    }
    report.violations.push('board.recover() failed five times in a row');
    throw new Error('recovery failed');
  };

  try {
    for (let i = 0; i < config.operations; i++) {
      report.operations++;
      const op = OPS[rng.int(OPS.length)]!;
      const outage = config.outageEvery !== undefined && i % config.outageEvery === config.outageEvery - 1;
      if (outage) {
        injector.setFaults('toDevice', { drop: 0.3 });
        injector.setFaults('fromDevice', { drop: 0.3 });
      }
      try {
        serial ??= await deadline(Serial1.take(board, { baudRate }));
        const s = serial;
        serial = undefined; // moved by the operation; set again when it hands it back
        serial = await deadline(runOp(op, s, rng, maxBytes, board, vb, alloc, release, report));
        report.completed++;
      } catch (e) {
        if (e instanceof Hang) {
          report.hangs++;
          report.violations.push(`operation ${i} (${op}) did not end within ${DEADLINE_MS} ms`);
        } else if (e instanceof Corruption) {
          report.corruptions.push(`operation ${i} (${op}): ${e.message}`);
        } else if (e instanceof DriverError) {
          report.failures[e.name] = (report.failures[e.name] ?? 0) + 1;
        } else {
          report.violations.push(`operation ${i} (${op}) threw an untyped error: ${String(e)}`);
        }
        checkArena(`after operation ${i} (${op}) failed`);
        if (outage) {
          injector.setFaults('toDevice', config.rates);
          injector.setFaults('fromDevice', config.rates);
        }
        await recover();
      }
      if (outage) {
        injector.setFaults('toDevice', config.rates);
        injector.setFaults('fromDevice', config.rates);
      }
      checkArena(`after operation ${i} (${op})`);
    }
  } finally {
    report.retransmissions = board.stats.retransmissions;
    report.eventsLost = board.stats.eventsLost;
    const c = injector.counters;
    for (const lane of [c.toDevice, c.fromDevice]) {
      report.faultsInjected +=
        lane.bitFlips + lane.dropped + lane.duplicated + lane.garbageBytes + lane.delayedBytes;
    }
    report.virtualMs = vb.nowNs / 1e6;
    await board.close().catch(() => {});
    await vb.dispose();
  }
  return report;
}

class Corruption extends Error {}

function randomBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.byte();
  return out;
}

function expectSame(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.length !== want.length)
    throw new Corruption(`${what}: ${got.length} bytes, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Corruption(`${what}: byte ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

function peerSince(vb: VirtualBoard, from: number): Uint8Array {
  return Uint8Array.from(
    vb.peer
      .received()
      .slice(from)
      .map((r) => r.byte),
  );
}

/** Runs one operation; returns the Serial1 it handed back. */
async function runOp(
  op: Op,
  serial: Serial1,
  rng: Prng,
  maxBytes: number,
  board: Board,
  vb: VirtualBoard,
  alloc: (n: number) => DmaBuffer,
  release: (b: DmaBuffer) => void,
  report: SoakReport,
): Promise<Serial1> {
  switch (op) {
    case 'write': {
      const data = randomBytes(rng, 1 + rng.int(maxBytes));
      const buf = alloc(data.length);
      await buf.write(data);
      const from = vb.peer.received().length;
      const done = await serial.writeAll(buf).wait();
      expectSame(peerSince(vb, from), data, 'writeAll at the peer');
      release(done.buffer);
      report.bytesMoved += data.length;
      return done.serial;
    }
    case 'read': {
      const data = randomBytes(rng, 1 + rng.int(Math.min(maxBytes, 512)));
      const buf = alloc(data.length);
      const t = serial.readExact(buf);
      await t.started;
      vb.peer.inject(data);
      const done = await t.wait();
      expectSame(await done.buffer.read(), data, 'readExact');
      release(done.buffer);
      report.bytesMoved += data.length;
      return done.serial;
    }
    case 'circular': {
      const half = 16 * (1 + rng.int(8));
      const halves = 1 + rng.int(4);
      const data = randomBytes(rng, half * halves);
      const buf = alloc(2 * half);
      const rec = serial.readCircular(buf);
      await rec.started;
      const it = rec[Symbol.asyncIterator]();
      for (let h = 0; h < halves; h++) {
        // One half at a time: a reader that keeps up never overruns.
        vb.peer.inject(data.subarray(h * half, (h + 1) * half));
        const r = await it.next();
        if (r.done) throw new Corruption('circular reception ended early');
        expectSame(r.value, data.subarray(h * half, (h + 1) * half), `circular half ${h}`);
      }
      const stopped = await rec.stop();
      release(stopped.buffer);
      report.bytesMoved += data.length;
      return stopped.serial;
    }
    case 'stream': {
      const data = randomBytes(rng, 1 + rng.int(4 * maxBytes));
      const chunkSize = 64 * (1 + rng.int(32));
      const from = vb.peer.received().length;
      const writer = serial.streamWriter({ chunkSize });
      for (let o = 0; o < data.length; ) {
        const n = 1 + rng.int(1500);
        await writer.write(data.subarray(o, o + n));
        o += n;
      }
      const back = await writer.close();
      expectSame(peerSince(vb, from), data, 'stream at the peer');
      report.bytesMoved += data.length;
      return back;
    }
    case 'stream-abort': {
      // Stopped part-way: what abort() says went out is exactly what the peer got.
      const data = randomBytes(rng, 256 + rng.int(4 * maxBytes));
      const chunkSize = 64 * (1 + rng.int(16));
      const from = vb.peer.received().length;
      const writer = serial.streamWriter({ chunkSize });
      const writing = writer.write(data).catch(() => {});
      const afterMs = rng.int(40);
      await new Promise<void>((resolve) => {
        board.timers.setTimeout(resolve, afterMs);
      });
      const { serial: back, bytesSent } = await writer.abort();
      await writing;
      expectSame(
        peerSince(vb, from),
        data.subarray(0, bytesSent),
        `stream aborted after ${bytesSent} bytes, at the peer`,
      );
      report.bytesMoved += bytesSent;
      return back;
    }
    case 'register': {
      // CMAR of the idle channel 2: a plain read-write register.
      const cmar2 = board.chip.dma.channels[1]!.cmar.address;
      const value = (board.arena.base + 4 * rng.int(1024)) >>> 0;
      await board.raw.writeRegister(cmar2, value);
      const back = await board.readRegister(cmar2);
      if (back !== value)
        throw new Corruption(`CMAR2 reads 0x${back.toString(16)}, wrote 0x${value.toString(16)}`);
      return serial;
    }
    case 'memory': {
      const data = randomBytes(rng, 1 + rng.int(2 * maxBytes));
      const buf = alloc(data.length);
      await buf.write(data);
      expectSame(await buf.read(), data, 'memory read back');
      release(buf);
      report.bytesMoved += 2 * data.length;
      return serial;
    }
  }
}

/** One line of figures for a report. */
export function describeReport(r: SoakReport): string {
  const failures = Object.entries(r.failures)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${r.name} (seed ${r.seed}): ${r.completed}/${r.operations} completed, ` +
    `typed failures: ${failures || 'none'}, hangs ${r.hangs}, corruptions ${r.corruptions.length}, ` +
    `violations ${r.violations.length}, recoveries ${r.recoveries}, ${r.bytesMoved} bytes checked, ` +
    `${r.faultsInjected} bytes faulted, ${r.retransmissions} retransmissions, ${r.eventsLost} events lost, ` +
    `${Math.round(r.virtualMs)} ms of board time`
  );
}

/** The fault types each soak runs, at rates where large frames still get through. */
export function soakConfigs(seed: number, operations: number): SoakConfig[] {
  return [
    { name: 'bit flips', seed, operations, rates: { bitFlip: 1e-3 } },
    { name: 'dropped bytes', seed: seed + 1, operations, rates: { drop: 1e-3 } },
    { name: 'duplicated bytes', seed: seed + 2, operations, rates: { duplicate: 1e-3 } },
    { name: 'garbage', seed: seed + 3, operations, rates: { garbage: 1e-3, garbageMaxLength: 8 } },
    { name: 'delays', seed: seed + 4, operations, rates: { delay: 2e-3, delayMs: 15, delayMaxRun: 64 } },
    {
      name: 'a mix',
      seed: seed + 5,
      operations,
      rates: { bitFlip: 3e-4, drop: 3e-4, duplicate: 3e-4, garbage: 3e-4, delay: 5e-4, delayMs: 10 },
    },
    {
      name: 'a mix with outages',
      seed: seed + 6,
      operations,
      rates: { bitFlip: 3e-4, drop: 3e-4, duplicate: 3e-4, garbage: 3e-4, delay: 5e-4, delayMs: 10 },
      outageEvery: 6,
    },
  ];
}
