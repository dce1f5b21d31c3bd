/**
 * The driver's link, board and primitives against the real bridge firmware
 * on the virtual board, through the fault injector: ≥ 10^4 requests under
 * each fault type and a mix, every Serial1 byte arriving at USART1's peer
 * exactly once and in order; a board reset and a cut link in the middle.
 * Deadlines and delays run in virtual time (test/support/virtual-timers.ts).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/serial1.ts';
import { Board } from '../driver/board/index.ts';
import { DeviceResetError, LinkClosedError, LinkTimeoutError } from '../driver/link/index.ts';
import { WouldBlock } from '../driver/primitives/index.ts';
import { FaultInjector, type FaultRates } from '../driver/transport/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const CNDTR2 = 0x4002_0020;
const CMAR2 = 0x4002_0028;
/** Longer than one character at 115200 baud (87 µs), so a pipelined write never finds TDR full. */
const TXE_WAIT_US = 1000;

let vb: VirtualBoard | undefined;
afterEach(async () => {
  await vb?.dispose();
  vb = undefined;
});

async function setup(faults: { seed: number; toDevice?: FaultRates; fromDevice?: FaultRates } | undefined) {
  vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
  vb.start();
  const timers = virtualTimers(vb);
  const port = vb.hostPort();
  const injector = faults ? new FaultInjector(port, { ...faults, timers }) : undefined;
  const board = await Board.open(injector ?? port, { timers, retransmitTimeoutMs: 40, maxRetries: 25 });
  const serial = await Serial1.take(board, { baudRate: 115_200 });
  return { board, serial, injector, vb };
}

async function write(serial: Serial1, byte: number): Promise<void> {
  const r = await serial.write(byte, { timeoutUs: TXE_WAIT_US });
  if (r === WouldBlock) throw new Error(`TDR still full after ${TXE_WAIT_US} µs`);
}

/**
 * `count` requests, pipelined: a quarter are Serial1 writes, the rest write
 * a register and read it back (CMAR2: a plain read-write register of an
 * idle channel). Returns the bytes written, in order.
 */
async function traffic(board: Board, serial: Serial1, count: number, firstByte = 0): Promise<number[]> {
  const bytes: number[] = [];
  const pending: Promise<void>[] = [];
  let lastWritten = -1;
  for (let i = 0; i < count; i++) {
    let p: Promise<void>;
    if (i % 4 === 0) {
      const b = (firstByte + bytes.length) & 0xff;
      bytes.push(b);
      p = write(serial, b);
    } else if (i % 4 === 1) {
      const v = 0x2000_0000 + i * 4;
      lastWritten = v;
      p = board.raw.writeRegister(CMAR2, v);
    } else if (i % 4 === 2) {
      const expected = lastWritten;
      // Executed in order after the write before it: it must see that value.
      p = board.readRegister(CMAR2).then((v) => expect(v).toBe(expected));
    } else {
      p = board.readRegister(CNDTR2).then((v) => expect(v).toBe(0));
    }
    pending.push(p);
    if (pending.length >= 16) await pending.shift();
  }
  await Promise.all(pending);
  return bytes;
}

async function peerBytes(board: Board, vbd: VirtualBoard, count: number): Promise<number[]> {
  // Every write was acknowledged once TDR took it; the last byte needs one more character time to leave.
  const deadline = vbd.nowNs + 10_000_000;
  while (vbd.peer.received().length < count && vbd.nowNs < deadline) await board.ping();
  return vbd.peer.received().map((r) => r.byte);
}

const COUNT = 4_000;

describe('link end to end on the virtual board', () => {
  const cases: [string, FaultRates][] = [
    ['no faults', {}],
    ['bit flips', { bitFlip: 0.001 }],
    ['dropped bytes', { drop: 0.001 }],
    ['duplicated bytes', { duplicate: 0.001 }],
    ['garbage', { garbage: 0.001, garbageMaxLength: 8 }],
    ['delayed bytes', { delay: 0.001, delayMs: 3, delayMaxRun: 8 }],
    [
      'a mix of all of them',
      { bitFlip: 3e-4, drop: 3e-4, duplicate: 3e-4, garbage: 3e-4, delay: 3e-4, delayMs: 3 },
    ],
  ];
  for (const [name, rates] of cases) {
    it(`carries ${COUNT} requests exactly once, in order, with ${name}`, { timeout: 120_000 }, async () => {
      const {
        board,
        serial,
        injector,
        vb: vbd,
      } = await setup({ seed: name.length * 104729, toDevice: rates, fromDevice: rates });
      const bytes = await traffic(board, serial, COUNT);
      expect(await peerBytes(board, vbd, bytes.length)).toEqual(bytes);
      if (name !== 'no faults') {
        const c = injector!.counters;
        const injected = (k: keyof typeof c.toDevice) => c.toDevice[k] + c.fromDevice[k];
        expect(
          injected('bitFlips') +
            injected('dropped') +
            injected('duplicated') +
            injected('garbageBursts') +
            injected('delayedRuns'),
        ).toBeGreaterThan(10);
        expect(board.stats.retransmissions + board.stats.corruptFrames).toBeGreaterThan(0);
      }
      await board.close();
    });
  }

  it('fails in-flight work with DeviceResetError when the board resets, and carries on after reconnecting', {
    timeout: 60_000,
  }, async () => {
    const { board, serial, vb: vbd } = await setup(undefined);
    const before = await traffic(board, serial, 400);
    // Requests in flight when the reset button is pressed.
    const inFlight = Array.from({ length: 12 }, (_, i) => write(serial, 0x80 + i));
    const settled = Promise.allSettled(inFlight);
    vbd.reset();
    const results = await settled;
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DeviceResetError);
    await expect(board.ping()).rejects.toBeInstanceOf(DeviceResetError);
    const oldEpoch = board.epoch;
    await board.reconnect();
    expect(board.epoch).not.toBe(oldEpoch);
    // Serial1 was revoked with the reset; take it again and configure the reset USART.
    await expect(serial.write(1)).rejects.toBeInstanceOf(DeviceResetError);
    const serial2 = await Serial1.take(board, { baudRate: 115_200 });
    const after = await traffic(board, serial2, 400, 0x40);
    const got = await peerBytes(board, vbd, before.length + after.length);
    // Acknowledged bytes from before the reset, then perhaps some of the
    // ones in flight (in order), then exactly the ones after reconnecting.
    expect(got.slice(0, before.length)).toEqual(before);
    expect(got.slice(got.length - after.length)).toEqual(after);
    const middle = got.slice(before.length, got.length - after.length);
    expect(middle.every((b, i) => i === 0 || b > middle[i - 1]!)).toBe(true);
    expect(middle.every((b) => b >= 0x80 && b < 0x8c)).toBe(true);
    await board.close();
  });

  it('fails everything pending with LinkClosedError when the link is cut, and a new link works', {
    timeout: 60_000,
  }, async () => {
    const { board, serial, injector, vb: vbd } = await setup({ seed: 5 });
    await traffic(board, serial, 400);
    const pending = Array.from({ length: 40 }, (_, i) => board.readRegister(CMAR2 + (i % 2) * 0));
    const settled = Promise.allSettled(pending);
    injector!.cut('close');
    const results = await settled;
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LinkClosedError);
    await expect(board.ping()).rejects.toBeInstanceOf(LinkClosedError);
    // The board did not reset: a new session on a new port sees the same epoch.
    const again = await Board.open(vbd.hostPort(), { timers: virtualTimers(vbd), retransmitTimeoutMs: 40 });
    expect(again.epoch).toBe(board.epoch);
    expect(await again.ping(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    await again.close();
  });

  it('fails everything pending with LinkTimeoutError when the line goes silent, without hanging', {
    timeout: 60_000,
  }, async () => {
    const { board, serial, injector } = await setup({ seed: 6 });
    await traffic(board, serial, 100);
    injector!.cut('silent');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => board.readRegister(CMAR2)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LinkTimeoutError);
    }
    await board.close();
  });
});
