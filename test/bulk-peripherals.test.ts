/**
 * The peripherals' bulk path against their per-character reference path,
 * driven by the real driver over the host port (the virtual board's own run
 * loop, the driver's timers on virtual time): the bridge streaming 24 KiB
 * out of USART1 at 4 Mbaud over a 2 Mbaud link, a circular reception on
 * USART1 over several laps, a reception until idle, and a transmission
 * while the peer sends; again with the host port timing USB frames. Both
 * runs must give the same register accesses (value and core cycle), the
 * same interrupts, the same bytes at the same times on both wires, and the
 * same SRAM at the end.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/index.ts';
import { Board } from '../driver/board/index.ts';
import {
  firstDifference,
  type PeripheralTrace,
  tracePeripherals,
} from '../emulator/host/test-support/peripheral-trace.ts';
import { VirtualBoard } from '../emulator/index.ts';
import type { PeripheralMode } from '../emulator/stm32g071/chip.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const LINK_BAUD = 2_000_000;
const USART1_BAUD = 4_000_000;

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >> 9) + seed) & 0xff;
  return out;
}

interface Outcome {
  trace: PeripheralTrace;
  sram: Uint8Array;
  received: Uint8Array[];
  endNs: number;
  steps: number;
}

interface Session {
  /** The host port's USB frames (HostPortOptions.usbFrameNs). */
  usbFrameNs?: number;
  /** Bytes streamed out of USART1 first. */
  streamBytes: number;
}

async function session(mode: PeripheralMode, setup: Session): Promise<Outcome> {
  const vb = new VirtualBoard({
    firmware: loadFirmware(),
    usart1: 'peer',
    peerBaudRate: USART1_BAUD,
    sramSeed: 5,
    peripheralMode: mode,
  });
  const trace = tracePeripherals(vb);
  vb.start();
  const received: Uint8Array[] = [];
  try {
    let seed = 0x1234_5678;
    const random = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const port = vb.hostPort(setup.usbFrameNs === undefined ? {} : { usbFrameNs: setup.usbFrameNs });
    const board = await Board.open(port, { timers: virtualTimers(vb), linkBaud: LINK_BAUD, random });
    let serial = await Serial1.take(board, { baudRate: USART1_BAUD });
    serial = await serial.streamWriter().pipeFrom(pattern(setup.streamBytes, 1));
    // Circular reception: the peer sends four laps of a 512-byte buffer, a half at a time as the host reads.
    const rec = serial.readCircular(board.alloc(512));
    await rec.started;
    const laps = pattern(2048, 2);
    vb.peer.inject(laps.subarray(0, 256));
    const halves: number[] = [];
    for await (const half of rec) {
      halves.push(...half);
      if (halves.length < 2048) vb.peer.inject(laps.subarray(halves.length, halves.length + 256));
      else break;
    }
    received.push(Uint8Array.from(halves));
    serial = (await rec.stop()).serial;
    // Reception until idle: a burst, then the line goes quiet.
    const idle = serial.readUntilIdle(board.alloc(256));
    await idle.started;
    vb.peer.inject(pattern(100, 3));
    const done = await idle.wait();
    received.push(await done.buffer.read(0, done.transferred));
    serial = done.serial;
    // A transmission while the peer sends (nothing reads it).
    const out = board.alloc(3000);
    await out.write(pattern(3000, 4));
    const tx = serial.writeAll(out);
    await tx.started;
    vb.peer.inject(pattern(64, 5));
    serial = (await tx.wait()).serial;
    await board.close();
  } finally {
    await vb.stop();
  }
  const outcome = {
    trace,
    sram: trace.sramCopy(),
    received,
    endNs: vb.nowNs,
    steps: vb.chip.bulk?.stats.steps ?? 0,
  };
  await vb.dispose();
  return outcome;
}

function expectSame(bulk: Outcome, reference: Outcome): void {
  expect(firstDifference(bulk.trace.registers, reference.trace.registers)).toBeUndefined();
  expect(firstDifference(bulk.trace.interrupts, reference.trace.interrupts)).toBeUndefined();
  expect(firstDifference(bulk.trace.usart2, reference.trace.usart2)).toBeUndefined();
  expect(firstDifference(bulk.trace.usart1, reference.trace.usart1)).toBeUndefined();
  expect(bulk.endNs).toBe(reference.endNs);
  expect(Buffer.from(bulk.sram).equals(Buffer.from(reference.sram))).toBe(true);
}

describe('the bulk peripherals against the per-character ones, under the driver', () => {
  it('stream, circular and idle receptions and a transmission: the same registers, interrupts, wires and memory', async () => {
    const setup = { streamBytes: 24 * 1024 };
    const reference = await session('per-character', setup);
    const bulk = await session('bulk', setup);
    expect(reference.trace.usart1.length).toBeGreaterThan(24 * 1024);
    expect(reference.received[0]).toEqual(pattern(2048, 2));
    expect(reference.received[1]).toEqual(pattern(100, 3));
    expectSame(bulk, reference);
    expect(bulk.steps).toBeGreaterThan(40_000);
  }, 120_000);
});

describe('the same, the host port timing its USB frames (each byte of USART2 heard at its time)', () => {
  it('gives the same registers, interrupts, wires and memory', async () => {
    const setup = { streamBytes: 4 * 1024, usbFrameNs: 1_000_000 };
    const reference = await session('per-character', setup);
    const bulk = await session('bulk', setup);
    expect(reference.received[0]).toEqual(pattern(2048, 2));
    expectSame(bulk, reference);
    expect(bulk.steps).toBeGreaterThan(10_000);
  }, 120_000);
});
