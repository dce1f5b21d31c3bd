/**
 * The host link's rate as Board.open and reconnect() negotiate it
 * (PROTOCOL.md §2, SET_LINK_BAUD), on the fake board made rate-aware: a
 * frame sent at a rate the board is not at never reaches it, a board away
 * from its boot rate goes back there on the first garbled frame, and a
 * power cycle puts it back at its boot rate. test/link-rate.test.ts runs
 * the same rules on the real firmware; these state each branch quickly.
 */
import { describe, expect, it } from 'vitest';
import { DeviceResetError, LinkTimeoutError } from '../link/errors.ts';
import { Capability, encodeMessage, type Reply, Status } from '../protocol/index.ts';
import { FakeBoard } from '../test-support/fake-board.ts';
import { ManualTimers } from '../test-support/manual-timers.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import type { Transport } from '../transport/transport.ts';
import { Board, type LinkRateChoice } from './board.ts';
import { LinkRateError } from './errors.ts';

const BOOT = 115_200;
const RATES = [BOOT, 1_000_000, 2_000_000];

interface RigOptions {
  rates?: number[];
  capabilities?: number;
  /** The transport's rate control: absent, taking any rate, or failing. */
  control?: 'none' | 'works' | 'fails' | 'ignored';
  maxBaudRate?: number;
  /** The board refuses SET_LINK_BAUD (a rate it does not take after all). */
  refuseSwitch?: boolean;
  /** The board resets (power cycle) right after answering SET_LINK_BAUD, this many times. */
  resetAfterSwitch?: number;
  /** The board resets before it answers SET_LINK_BAUD, this many times. */
  resetBeforeSwitch?: number;
}

function rig(options: RigOptions = {}) {
  const { host, device } = createMemoryTransportPair();
  const fake = new FakeBoard(device);
  const rates = options.rates ?? RATES;
  const h = fake.hello as { -readonly [K in keyof typeof fake.hello]: (typeof fake.hello)[K] };
  h.capabilities = options.capabilities ?? 0b1111 | Capability.SET_LINK_BAUD;
  h.linkRates = rates;
  h.bootLinkBaud = BOOT;
  h.rxBuffer = 512;
  const line = { host: BOOT, board: BOOT, setCalls: [] as number[] };
  let resetsAfter = options.resetAfterSwitch ?? 0;
  let resetsBefore = options.resetBeforeSwitch ?? 0;
  const boardAt = (baud: number) => {
    line.board = baud;
    h.linkBaud = baud;
  };
  fake.onRequest = (r) => {
    if (line.host !== line.board) {
      // Garbage at the board's rate: a framing error sends it back to its boot rate.
      boardAt(BOOT);
      return 'drop-request';
    }
    if (r.command !== 'set-link-baud') return 'process';
    if (resetsBefore > 0) {
      resetsBefore--;
      fake.reset();
      return 'drop-request';
    }
    const ok = rates.includes(r.baud) && !options.refuseSwitch;
    const result = ok ? { status: Status.OK } : { status: Status.BAD_LENGTH };
    fake.sendRaw(
      encodeMessage({
        kind: 'reply',
        mark: fake.mark,
        command: 'set-link-baud',
        seq: r.seq,
        result,
      } as Reply),
    );
    if (ok) boardAt(r.baud);
    if (ok && resetsAfter > 0) {
      resetsAfter--;
      // Powered off and on: back at the boot rate, its BOOT event garbled at the host's new rate.
      fake.reset({ bootEvent: false });
      boardAt(BOOT);
    }
    return 'drop-reply';
  };
  const control = options.control ?? 'works';
  const transport: Transport = {
    readable: host.readable,
    writable: host.writable,
    close: () => host.close(),
    info: host.info,
    ...(control === 'none'
      ? {}
      : {
          setBaudRate: async (baud: number) => {
            line.setCalls.push(baud);
            if (control === 'fails') throw new Error('the bridge chip has no such divisor');
            if (control === 'works') line.host = baud;
          },
        }),
    ...(options.maxBaudRate === undefined ? {} : { maxBaudRate: options.maxBaudRate }),
  };
  const open = (linkBaud?: LinkRateChoice) =>
    Board.open(transport, {
      retransmitTimeoutMs: 10,
      maxRetries: 2,
      ...(linkBaud === undefined ? {} : { linkBaud }),
    });
  const sent = (command: string) => fake.received.filter((r) => r.command === command);
  return { fake, line, transport, open, sent };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

describe('Board.open negotiates the link rate', () => {
  it("'max' (the default) takes the highest rate the board offers and the transport can take", async () => {
    const r = rig({ maxBaudRate: 1_500_000 });
    const board = await r.open();
    expect(board.linkRate).toEqual({ baud: 1_000_000, bootBaud: BOOT, note: undefined });
    expect(r.sent('set-link-baud').map((x) => (x as { baud: number }).baud)).toEqual([1_000_000]);
    expect(r.line.setCalls).toEqual([1_000_000]);
    expect(board.hello.linkBaud).toBe(1_000_000);
    expect(await board.ping(Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    await board.close();
  });

  it('a transport limit equal to a rate allows that rate', async () => {
    const r = rig({ maxBaudRate: 1_000_000 });
    const board = await r.open('max');
    expect(board.linkRate.baud).toBe(1_000_000);
    await board.close();
  });

  it('without a transport limit the highest rate is taken', async () => {
    const r = rig();
    const board = await r.open();
    expect(board.linkRate.baud).toBe(2_000_000);
    await board.close();
  });

  it('no rate the transport can take, or the boot rate the best one: nothing is sent, nothing noted', async () => {
    const below = rig({ maxBaudRate: 9600, rates: [1_000_000, 2_000_000] });
    const board = await below.open();
    expect(board.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: undefined });
    expect(below.sent('set-link-baud')).toHaveLength(0);
    await board.close();
    const boot = rig({ maxBaudRate: 500_000 });
    const again = await boot.open();
    expect(again.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: undefined });
    expect(boot.sent('set-link-baud')).toHaveLength(0);
    await again.close();
  });

  it("'boot' stays at the boot rate without asking", async () => {
    const r = rig();
    const board = await r.open('boot');
    expect(board.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: undefined });
    expect(r.sent('set-link-baud')).toHaveLength(0);
    await board.close();
  });

  it('an exact rate is taken as asked; the boot rate asked for sends nothing', async () => {
    const r = rig();
    const board = await r.open(1_000_000);
    expect(board.linkRate).toEqual({ baud: 1_000_000, bootBaud: BOOT, note: undefined });
    await board.close();
    const boot = rig();
    const atBoot = await boot.open(BOOT);
    expect(atBoot.linkRate.baud).toBe(BOOT);
    expect(boot.sent('set-link-baud')).toHaveLength(0);
    await atBoot.close();
  });

  it('the boot rate asked for exactly is had without asking, whatever the firmware or the transport', async () => {
    for (const options of [{ capabilities: 0b1111 }, { control: 'none' as const }]) {
      const r = rig(options);
      const board = await r.open(BOOT);
      expect(board.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: undefined });
      expect(r.sent('set-link-baud')).toHaveLength(0);
      await board.close();
    }
  });

  it('changes the transport’s rate only after the board had its moment to switch', async () => {
    const r = rig();
    const timers = new ManualTimers();
    const opening = Board.open(r.transport, { timers, retransmitTimeoutMs: 10, maxRetries: 2 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.sent('set-link-baud')).toHaveLength(1);
    expect(r.line.setCalls).toEqual([]);
    await timers.advance(1);
    const board = await opening;
    expect(r.line.setCalls).toEqual([2_000_000]);
    expect(board.linkRate.baud).toBe(2_000_000);
    await board.close();
  });

  it('a transport without a line rate: nothing to say for max, LinkRateError for an exact rate', async () => {
    const r = rig({ control: 'none' });
    const board = await r.open();
    expect(board.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: undefined });
    expect(r.sent('set-link-baud')).toHaveLength(0);
    await board.close();
    const exact = rig({ control: 'none' });
    const e = await rejection(exact.open(1_000_000));
    expect(e).toBeInstanceOf(LinkRateError);
    expect(e).toMatchObject({ baud: 1_000_000, kind: 'unavailable' });
    expect(e.message).toBe(
      'the host link cannot run at 1000000 baud: this transport has no line rate to change',
    );
    expect(exact.sent('set-link-baud')).toHaveLength(0);
  });

  it('firmware with a fixed rate: a note for max, LinkRateError for an exact rate', async () => {
    for (const options of [{ capabilities: 0b1111 }, { rates: [] }]) {
      const r = rig(options);
      const board = await r.open();
      expect(board.linkRate).toEqual({
        baud: BOOT,
        bootBaud: BOOT,
        note: 'the firmware (2.4.0) has a fixed rate of 115200 baud',
      });
      expect(r.sent('set-link-baud')).toHaveLength(0);
      await board.close();
    }
    const exact = rig({ capabilities: 0b1111 });
    const e = await rejection(exact.open(2_000_000));
    expect(e).toMatchObject({ name: 'LinkRateError', kind: 'unavailable' });
    expect(e.message).toBe(
      'the host link cannot run at 2000000 baud: the firmware (2.4.0) has a fixed rate of 115200 baud',
    );
  });

  it('an exact rate the board does not offer, or above the transport, is refused before asking', async () => {
    const r = rig();
    const e = await rejection(r.open(3_000_000));
    expect(e).toMatchObject({ name: 'LinkRateError', kind: 'unavailable' });
    expect(e.message).toBe(
      'the host link cannot run at 3000000 baud: the board offers 115200, 1000000, 2000000 baud',
    );
    expect(r.sent('set-link-baud')).toHaveLength(0);
    const limited = rig({ maxBaudRate: 1_500_000 });
    const e2 = await rejection(limited.open(2_000_000));
    expect(e2.message).toBe(
      'the host link cannot run at 2000000 baud: the transport goes up to 1500000 baud',
    );
    expect(limited.sent('set-link-baud')).toHaveLength(0);
    const atLimit = rig({ maxBaudRate: 2_000_000 });
    const board = await atLimit.open(2_000_000);
    expect(board.linkRate.baud).toBe(2_000_000);
    await board.close();
  });

  it('the board refusing the rate: a note for max, a failed LinkRateError for an exact rate', async () => {
    const r = rig({ refuseSwitch: true });
    const board = await r.open();
    expect(board.linkRate).toEqual({ baud: BOOT, bootBaud: BOOT, note: 'the board refused 2000000 baud' });
    expect(r.line.setCalls).toEqual([]);
    await board.close();
    const exact = rig({ refuseSwitch: true });
    const e = await rejection(exact.open(1_000_000));
    expect(e).toMatchObject({ name: 'LinkRateError', kind: 'failed' });
    expect(e.message).toBe('the host link cannot run at 1000000 baud: the board refused 1000000 baud');
  });

  it('a transport that cannot take the rate: both ends back at the boot rate, and the note says why', async () => {
    const r = rig({ control: 'fails' });
    const board = await r.open();
    expect(board.linkRate).toEqual({
      baud: BOOT,
      bootBaud: BOOT,
      note:
        '2000000 baud did not work (the transport could not switch to 2000000 baud (the bridge chip has no ' +
        'such divisor)); the link is back at 115200 baud',
    });
    expect(await board.ping(Uint8Array.of(2))).toEqual(Uint8Array.of(2));
    expect(r.sent('set-link-baud')).toHaveLength(1);
    await board.close();
    const exact = rig({ control: 'fails' });
    const e = await rejection(exact.open(1_000_000));
    expect(e).toMatchObject({ name: 'LinkRateError', kind: 'failed' });
    expect(e.message).toMatch(/^the host link cannot run at 1000000 baud: 1000000 baud did not work \(/);
  });

  it('a transport whose side never switched: the board went back by itself, and the note says so', async () => {
    const r = rig({ control: 'ignored' });
    const board = await r.open();
    expect(board.linkRate.baud).toBe(BOOT);
    expect(board.linkRate.note).toBe(
      "2000000 baud did not work (the board went back to 115200 baud: the transport's side of the line did " +
        'not change rate); the link is back at 115200 baud',
    );
    // The board did not reset: asking again would change nothing.
    expect(r.sent('set-link-baud')).toHaveLength(1);
    await board.close();
  });

  it('a board that reset during the switch is switched again, up to three times', async () => {
    const once = rig({ resetAfterSwitch: 1 });
    const board = await once.open();
    expect(board.linkRate).toEqual({ baud: 2_000_000, bootBaud: BOOT, note: undefined });
    expect(once.sent('set-link-baud')).toHaveLength(2);
    await board.close();
    const always = rig({ resetAfterSwitch: 99 });
    const given = await always.open();
    expect(always.sent('set-link-baud')).toHaveLength(3);
    expect(given.linkRate.baud).toBe(BOOT);
    expect(given.linkRate.note).toBe(
      '2000000 baud did not work (no answer at 2000000 baud); the link is back at 115200 baud',
    );
    await given.close();
  });

  it('a board that reset before answering the switch is found again and asked again, up to three times', async () => {
    const once = rig({ resetBeforeSwitch: 1 });
    const board = await once.open();
    expect(board.linkRate.baud).toBe(2_000_000);
    expect(once.sent('set-link-baud')).toHaveLength(1);
    expect(once.sent('hello')).toHaveLength(3);
    await board.close();
    const always = rig({ resetBeforeSwitch: 99 });
    const e = await rejection(always.open());
    expect(e).toBeInstanceOf(DeviceResetError);
    // Three resets seen: HELLO of the open and one after each of the first two.
    expect(always.sent('hello')).toHaveLength(3);
  });

  it('a failed negotiation closes the link and frees the transport', async () => {
    const r = rig({ control: 'none' });
    await rejection(r.open(1_000_000));
    // Not "already has a board open on it": the link was closed with the transport.
    const e = await rejection(r.open());
    expect(e.name).not.toBe('TransportInUseError');
  });
});

describe('reconnect() and the link rate', () => {
  it('after a power cycle it finds the board at the boot rate and negotiates again', async () => {
    const r = rig();
    const board = await r.open();
    expect(board.linkRate.baud).toBe(2_000_000);
    r.fake.reset({ bootEvent: false });
    r.line.board = BOOT;
    (r.fake.hello as { linkBaud: number }).linkBaud = BOOT;
    const hello = await board.reconnect();
    expect(r.line.setCalls).toEqual([2_000_000, BOOT, 2_000_000]);
    expect(hello.linkBaud).toBe(2_000_000);
    expect(board.linkRate).toEqual({ baud: 2_000_000, bootBaud: BOOT, note: undefined });
    await board.close();
  });

  it('a board that answers at no rate: reconnect fails, and the link is left at the boot rate', async () => {
    const r = rig();
    const board = await r.open();
    r.fake.hang();
    const e = await rejection(board.reconnect());
    expect(e).toBeInstanceOf(LinkTimeoutError);
    expect(r.line.setCalls).toEqual([2_000_000, BOOT]);
    expect(board.linkRate.baud).toBe(BOOT);
    await board.close();
  });

  it('at the boot rate already, a board that does not answer is not looked for at another rate', async () => {
    const r = rig();
    const board = await r.open('boot');
    r.fake.hang();
    await expect(board.reconnect()).rejects.toBeInstanceOf(LinkTimeoutError);
    expect(r.line.setCalls).toEqual([]);
    await board.close();
  });
});
