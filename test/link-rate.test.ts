/**
 * The negotiated host-link rate (PROTOCOL.md §2, SET_LINK_BAUD), end to end
 * on the virtual board running the real firmware, whose host port has its
 * own line rate (a wrong one garbles both ways, as on a real line).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Board,
  type BoardOptions,
  DeviceResetError,
  Link,
  LinkRateError,
  LinkTimeoutError,
  Status,
  type Transport,
} from '../driver/index.ts';
import { type HostPort, VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function virtualBoard(options: { sramSeed?: number } = {}): VirtualBoard {
  const vb = new VirtualBoard({ firmware: loadFirmware(), ...options });
  vb.start();
  cleanups.push(() => vb.dispose());
  return vb;
}

async function open(vb: VirtualBoard, transport: Transport, options: BoardOptions = {}): Promise<Board> {
  const board = await Board.open(transport, { timers: virtualTimers(vb), ...options });
  cleanups.push(() => board.close().catch(() => {}));
  return board;
}

/**
 * The host and the board were at different rates for a while, on purpose:
 * the strict board names the garbled line, and nothing else.
 */
function expectRateMismatchReported(vb: VirtualBoard): void {
  expect(vb.strictReports.length).toBeGreaterThan(0);
  expect(new Set(vb.strictReports.map((r) => r.rule))).toEqual(new Set(['baud-mismatch']));
  vb.chip.strict.clear();
}

/** A round trip of data big enough to need many frames, checked. */
async function roundTrip(board: Board, length = 6000): Promise<void> {
  const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff);
  await board.raw.writeMemory(board.arena.base, data);
  expect(await board.readMemory(board.arena.base, length)).toEqual(data);
}

/** The host port with its rate control replaced. */
function withRateControl(port: HostPort, setBaudRate: (baud: number) => Promise<void>): Transport {
  return {
    readable: port.readable,
    writable: port.writable,
    close: () => port.close(),
    info: port.info,
    setBaudRate,
  };
}

describe('the host link rate', () => {
  it('negotiates the highest rate both ends take, and moves data there', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const board = await open(vb, port);
    expect(board.hello.linkRates).toContain(2_000_000);
    expect(board.linkRate).toEqual({ baud: 2_000_000, bootBaud: 115_200, note: undefined });
    expect(port.baudRate).toBe(2_000_000);
    expect(vb.chip.usart2.bitNs()).toBeCloseTo(500);
    await roundTrip(board);
    expect(board.stats.corruptFrames).toBe(0);
  });

  it("stays at the boot rate when told, takes an exact rate, and stops at the transport's limit", async () => {
    const atBoot = virtualBoard();
    const boot = await open(atBoot, atBoot.hostPort(), { linkBaud: 'boot' });
    expect(boot.linkRate.baud).toBe(115_200);

    const exact = virtualBoard();
    const exactPort = exact.hostPort();
    const at921 = await open(exact, exactPort, { linkBaud: 921_600 });
    expect(at921.linkRate.baud).toBe(921_600);
    expect(exactPort.baudRate).toBe(921_600);
    await roundTrip(at921, 2000);

    const limited = virtualBoard();
    const limitedPort = limited.hostPort({ maxBaudRate: 1_000_000 });
    const at1M = await open(limited, limitedPort);
    expect(at1M.linkRate.baud).toBe(1_000_000);
  });

  it('refuses rates the board does not offer (2.25 and 3 Mbaud), leaving the board usable', async () => {
    const vb = virtualBoard();
    for (const baud of [2_250_000, 3_000_000]) {
      const attempt = Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: baud });
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LinkRateError);
      expect((error as Error).message).toMatch(
        new RegExp(`${baud} baud: the board offers 115200, .*2000000 baud`),
      );
    }
    const board = await open(vb, vb.hostPort(), { linkBaud: 'boot' });
    await roundTrip(board, 500);
  });

  it('never passes garbage for data at a rate the board is not at: the link fails with a typed error', async () => {
    const vb = virtualBoard();
    const attempt = Board.open(vb.hostPort({ baudRate: 2_250_000 }), {
      timers: virtualTimers(vb),
      linkBaud: 'boot',
      retransmitTimeoutMs: 20,
      maxRetries: 2,
    });
    await expect(attempt).rejects.toBeInstanceOf(LinkTimeoutError);
    expectRateMismatchReported(vb);
  });

  it('falls back to the boot rate when the host side cannot really switch (a bridge that ignores the rate)', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const asked: number[] = [];
    const board = await open(
      vb,
      withRateControl(port, async (baud) => {
        asked.push(baud);
      }),
    );
    // Asked for 2 Mbaud; the board heard the next HELLO at 115200 as framing
    // errors and went back; its HELLO reply says so, and the host follows.
    expect(asked).toEqual([2_000_000, 115_200]);
    expect(board.linkRate.baud).toBe(115_200);
    expect(board.hello.linkBaud).toBe(115_200);
    expect(board.linkRate.note).toMatch(
      /2000000 baud did not work \(the board went back to 115200 baud: the transport's side of the line did not change rate\)/,
    );
    await roundTrip(board, 1000);
    expectRateMismatchReported(vb);
  });

  it('falls back when the transport refuses the rate, and an exact rate fails with LinkRateError', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const refusing = withRateControl(port, async (baud) => {
      if (baud !== 115_200) throw new Error('the USB-serial bridge has no such rate');
      await port.setBaudRate(baud);
    });
    const board = await open(vb, refusing);
    expect(board.linkRate.baud).toBe(115_200);
    expect(board.linkRate.note).toMatch(
      /the transport could not switch to 2000000 baud \(the USB-serial bridge/,
    );
    await roundTrip(board, 1000);
    await board.close();

    const port2 = vb.hostPort();
    const exact = Board.open(
      withRateControl(port2, async (baud) => {
        if (baud !== 115_200) throw new Error('no such rate');
        await port2.setBaudRate(baud);
      }),
      { timers: virtualTimers(vb), linkBaud: 2_000_000 },
    );
    await expect(exact).rejects.toThrow(LinkRateError);
    expectRateMismatchReported(vb);
  });

  it('the board goes back to its boot rate by itself when no valid frame follows a switch within about 5 s', async () => {
    const vb = virtualBoard();
    const link = await Link.open(vb.hostPort(), { timers: virtualTimers(vb) });
    cleanups.push(() => link.close());
    const reply = await link.request({ command: 'set-link-baud', baud: 2_000_000 });
    expect(reply.result.status).toBe(Status.OK);
    // The host never follows (a program that died after asking).
    await new Promise<void>((resolve) => virtualTimers(vb).setTimeout(resolve, 4_900));
    expect(vb.chip.usart2.bitNs()).toBeCloseTo(500);
    await new Promise<void>((resolve) => virtualTimers(vb).setTimeout(resolve, 500));
    expect(vb.chip.usart2.bitNs()).toBeCloseTo(1e9 / 115_108, 0);
    expect((await link.reopen()).linkBaud).toBe(115_200);
  });

  // How long each transport takes to change its rate and be ready to send:
  // serialport's update() a few ms; WebSerial must close and reopen the port,
  // up to seconds on slow systems; and one slower than the board's probation.
  for (const [transport, delayMs, outcome] of [
    ['serialport (update)', 20, 'switched'],
    ['WebSerial (close and reopen, a slow system)', 3_000, 'switched'],
    ['a transport slower than the probation', 7_000, 'fell back'],
  ] as const) {
    it(`recovers from a switch whose transport takes ${delayMs} ms to change rate: ${transport}`, async () => {
      const vb = virtualBoard();
      const port = vb.hostPort();
      const sleep = (ms: number) => new Promise<void>((resolve) => virtualTimers(vb).setTimeout(resolve, ms));
      const board = await open(
        vb,
        withRateControl(port, async (baud) => {
          await sleep(delayMs);
          await port.setBaudRate(baud);
        }),
      );
      if (outcome === 'switched') {
        expect(board.linkRate.baud).toBe(2_000_000);
        expect(vb.strictReports).toEqual([]);
      } else {
        // The board went back while the host was still changing rate; the
        // host's HELLO at the new rate went unanswered, and it followed.
        expect(board.linkRate.baud).toBe(115_200);
        expect(board.linkRate.note).toMatch(/2000000 baud did not work/);
        expect((await board.status()).linkFallbacks).toBe(1);
        expectRateMismatchReported(vb);
      }
      await roundTrip(board, 1000);
    });
  }

  it('survives a board reset in the middle of the switch: the board keeps the new rate through it', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const asked: number[] = [];
    const board = await open(
      vb,
      withRateControl(port, async (baud) => {
        asked.push(baud);
        // The reply came and the board switched: press its reset button now.
        if (asked.length === 1) vb.reset();
        await port.setBaudRate(baud);
      }),
    );
    // It came back at 2 Mbaud (kept through the reset), where the HELLO found it.
    expect(asked).toEqual([2_000_000]);
    expect(board.linkRate.baud).toBe(2_000_000);
    expect(vb.bootCount).toBe(2);
    expect(board.stats.resets).toBe(1);
    await roundTrip(board);
  });

  it('survives a power cut in the middle of the switch: found at the boot rate, and switched again', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const asked: number[] = [];
    const board = await open(
      vb,
      withRateControl(port, async (baud) => {
        asked.push(baud);
        if (asked.length === 1) vb.powerCycle();
        await port.setBaudRate(baud);
      }),
      { retransmitTimeoutMs: 20 },
    );
    // No answer at 2 Mbaud, found at the boot rate with a new epoch, switched again.
    expect(asked).toEqual([2_000_000, 115_200, 2_000_000]);
    expect(board.linkRate).toEqual({ baud: 2_000_000, bootBaud: 115_200, note: undefined });
    await roundTrip(board);
    expectRateMismatchReported(vb);
  });

  it('after a reset at the negotiated rate the host hears of it at once, and goes on at that rate', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const board = await open(vb, port);
    const epoch = board.epoch;
    vb.reset();
    await expect(board.ping()).rejects.toBeInstanceOf(DeviceResetError);
    await board.reconnect();
    expect(board.epoch).not.toBe(epoch);
    expect(board.linkRate.baud).toBe(2_000_000);
    expect(port.baudRate).toBe(2_000_000);
    await roundTrip(board);
  });

  it('after a power cycle (the board back at its boot rate) reconnect finds it there and negotiates again', async () => {
    const vb = virtualBoard();
    const port = vb.hostPort();
    const board = await open(vb, port, { retransmitTimeoutMs: 20 });
    const epoch = board.epoch;
    vb.powerCycle();
    await expect(board.ping()).rejects.toBeInstanceOf(LinkTimeoutError);
    await board.reconnect();
    expect(board.epoch).not.toBe(epoch);
    expect(board.linkRate.baud).toBe(2_000_000);
    await roundTrip(board);
    expectRateMismatchReported(vb);
  });

  it('gives a new boot epoch at every power-on (SRAM powers up with new content)', async () => {
    const vb = virtualBoard({ sramSeed: 7 });
    const epochs = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: 'boot' });
      epochs.add(board.epoch);
      await board.close();
      vb.powerCycle();
    }
    expect(epochs.size).toBe(3);
    // The same seed powers up the same way.
    const again = virtualBoard({ sramSeed: 7 });
    const first = await open(again, again.hostPort(), { linkBaud: 'boot' });
    expect(epochs.has(first.epoch)).toBe(true);
  });

  it('keeps talking at 16 MHz when the PLL does not lock: HELLO says so, and offers the rates it can make', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), pllLockNs: 1e9 });
    vb.start();
    cleanups.push(() => vb.dispose());
    const board = await open(vb, vb.hostPort());
    expect(board.hello.usart1ClockHz).toBe(16_000_000);
    // 921600 would be 2 % off from 16 MHz (BRR 17): not offered.
    expect(board.hello.linkRates).toEqual([115_200, 230_400, 460_800, 1_000_000]);
    expect(board.linkRate.baud).toBe(1_000_000);
    await roundTrip(board, 3000);
  });
});
