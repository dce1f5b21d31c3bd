/**
 * What each of the board's calls sends, and what it resolves or rejects
 * with, at its edges: arguments refused before anything is sent, the
 * board's refusals of each command, replies that break the protocol, and
 * the reply hook of every request.
 */
import { describe, expect, it } from 'vitest';
import { DeviceResetError, LinkProtocolError, LinkTimeoutError } from '../link/errors.ts';
import { encodeMessage, type Reply, Status } from '../protocol/index.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, FakeBoard } from '../test-support/fake-board.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { realTimers } from '../transport/timers.ts';
import { Board } from './board.ts';
import {
  BusyError,
  DmaStartRefusedError,
  OutOfArenaError,
  ProtocolMismatchError,
  RegisterNotAllowedError,
} from './errors.ts';
import { boardInternals } from './internals.ts';

const ARENA = 0x2000_4000;
const SIZE = 0x4000;

/** The fake answers the next request of `command` with `reply` (given its seq) instead of its own. */
function answerNext(
  fake: FakeBoard,
  command: string,
  reply: (seq: number) => Omit<Reply, 'kind' | 'mark' | 'seq'>,
) {
  const previous = fake.onRequest;
  fake.onRequest = (r) => {
    if (r.command !== command) return previous?.(r) ?? 'process';
    fake.onRequest = previous;
    fake.sendRaw(encodeMessage({ kind: 'reply', mark: fake.mark, seq: r.seq, ...reply(r.seq) } as Reply));
    return 'drop-reply';
  };
}

const sentCount = (fake: FakeBoard) => fake.received.length;

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

const MISMATCH =
  ' with UNKNOWN_COMMAND (0x05) (the board does not know this request type (firmware too old?)): the driver ' +
  'and firmware disagree on the protocol; update the one that is older';

describe('ping, status and resetPeripherals', () => {
  it('resolve with what the board answered', async () => {
    const { board, fake } = await openBoardOnFake();
    expect(await board.ping(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(await board.ping()).toEqual(new Uint8Array(0));
    expect(await board.status()).toEqual({
      resetFlags: 0,
      linkRxDropped: 0,
      linkRxErrors: 0,
      linkFallbacks: 0,
      eventsDropped: 0,
      faultPc: 0,
      faultCount: 0,
    });
    fake.registers.set(FAKE.CNDTR1, 5);
    await board.resetPeripherals();
    expect(fake.reg(FAKE.CNDTR1)).toBe(0);
    await board.close();
  });

  it('reject with the board’s refusal, naming the command', async () => {
    const { board, fake } = await openBoardOnFake();
    for (const [command, call, name] of [
      ['ping', () => board.ping(), 'PING'],
      ['board-status', () => board.status(), 'BOARD_STATUS'],
      ['reset-peripherals', () => board.resetPeripherals(), 'RESET_PERIPHERALS'],
    ] as const) {
      answerNext(fake, command, () => ({ command, result: { status: Status.UNKNOWN_COMMAND } }) as never);
      const e = await rejection(call());
      expect(e).toBeInstanceOf(ProtocolMismatchError);
      expect(e).toMatchObject({ command: name, status: Status.UNKNOWN_COMMAND });
      expect(e.message).toBe(`the board answered ${name}${MISMATCH}`);
    }
    await board.close();
  });

  it('ping takes only a Uint8Array, and says so before sending anything', async () => {
    const { board, fake } = await openBoardOnFake();
    const before = sentCount(fake);
    const e = await rejection(board.ping('hello' as unknown as Uint8Array));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(
      'board.ping() takes a Uint8Array, not string: encode text first, e.g. new TextEncoder().encode(text)',
    );
    expect(sentCount(fake)).toBe(before);
    await board.close();
  });
});

describe('registers', () => {
  it('refuses an address or value that is not a 32-bit whole number before sending anything', async () => {
    const { board, fake } = await openBoardOnFake();
    const before = sentCount(fake);
    const cases: [() => Promise<unknown>, string][] = [
      [() => board.readRegister(-1), 'a register address is a whole number from 0 to 0xFFFFFFFF; got -1'],
      [
        () => board.readRegister(2 ** 32),
        'a register address is a whole number from 0 to 0xFFFFFFFF; got 4294967296',
      ],
      [() => board.readRegister(1.5), 'a register address is a whole number from 0 to 0xFFFFFFFF; got 1.5'],
      [
        () => board.readRegister('16' as unknown as number),
        'a register address is a whole number from 0 to 0xFFFFFFFF; got 16',
      ],
      [
        () => board.raw.writeRegister(-4, 0),
        'a register address is a whole number from 0 to 0xFFFFFFFF; got -4',
      ],
      [
        () => board.raw.writeRegister(FAKE.CMAR1, 2 ** 32),
        'a register value is a whole number from 0 to 0xFFFFFFFF; got 4294967296',
      ],
      [
        () => board.raw.writeRegister(FAKE.CMAR1, -1),
        'a register value is a whole number from 0 to 0xFFFFFFFF; got -1',
      ],
      [
        () => board.raw.writeRegister(FAKE.CMAR1, Number.NaN),
        'a register value is a whole number from 0 to 0xFFFFFFFF; got NaN',
      ],
    ];
    for (const [call, message] of cases) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(message);
    }
    expect(sentCount(fake)).toBe(before);
    await board.close();
  });

  it('sends the whole range: address 0 and values 0 and 0xFFFFFFFF reach the board', async () => {
    const { board, fake } = await openBoardOnFake();
    await expect(board.readRegister(0)).rejects.toBeInstanceOf(RegisterNotAllowedError);
    await expect(board.readRegister(0xffff_fffc)).rejects.toBeInstanceOf(RegisterNotAllowedError);
    await board.raw.writeRegister(FAKE.CMAR1, 0xffff_ffff);
    expect(fake.reg(FAKE.CMAR1)).toBe(0xffff_ffff);
    await board.raw.writeRegister(FAKE.CMAR1, 0);
    expect(fake.reg(FAKE.CMAR1)).toBe(0);
    await board.close();
  });

  it('a refusal of a register access names the register', async () => {
    const { board, fake } = await openBoardOnFake();
    answerNext(fake, 'reg-read', () => ({ command: 'reg-read', result: { status: Status.BUSY } }) as never);
    const read = await rejection(board.readRegister(FAKE.CCR1));
    expect(read).toBeInstanceOf(BusyError);
    expect(read.message).toMatch(/^REG_READ on DMA1_CCR1 refused: /);
    await board.close();
  });

  it('the write the layers above use checks its address and value itself', async () => {
    const { board, fake } = await openBoardOnFake();
    const { writeRegister } = boardInternals(board);
    const before = sentCount(fake);
    await expect(writeRegister(-1, 0)).rejects.toThrow(
      new RangeError('a register address is a whole number from 0 to 0xFFFFFFFF; got -1'),
    );
    await expect(writeRegister(FAKE.CMAR1, 0.5)).rejects.toThrow(
      new RangeError('a register value is a whole number from 0 to 0xFFFFFFFF; got 0.5'),
    );
    expect(sentCount(fake)).toBe(before);
    await writeRegister(FAKE.CMAR1, 8);
    expect(fake.reg(FAKE.CMAR1)).toBe(8);
    await board.close();
  });

  it('calls onReply once with the reply, for single requests too', async () => {
    const { board, fake } = await openBoardOnFake();
    const replies: Reply[] = [];
    const onReply = (r: Reply) => replies.push(r);
    await board.readRegister(FAKE.CMAR1, { onReply });
    await board.raw.writeRegister(FAKE.CMAR1, 4, { onReply });
    await board.ping(Uint8Array.of(1), { onReply });
    await board.status({ onReply });
    await board.resetPeripherals({ onReply });
    expect(replies.map((r) => r.command)).toEqual([
      'reg-read',
      'reg-write',
      'ping',
      'board-status',
      'reset-peripherals',
    ]);
    expect(replies.every((r) => r.mark === fake.mark)).toBe(true);
    await board.close();
  });

  it('a reply followed at once by news of a reset is not trusted: the call fails with the reset', async () => {
    const { board, fake } = await openBoardOnFake();
    fake.onRequest = (r) => {
      if (r.command !== 'reg-read') return 'process';
      // The reply and the BOOT event behind it arrive in one read from the line.
      const reply = encodeMessage({
        kind: 'reply',
        mark: fake.mark,
        seq: r.seq,
        command: 'reg-read',
        result: { status: Status.OK, value: 7 },
      });
      fake.reset({ bootEvent: false });
      const boot = fake.encodeEvent({
        event: 'boot',
        bootEpoch: fake.bootEpoch,
        firmwareVersion: fake.hello.firmwareVersion,
      });
      fake.sendRaw(Uint8Array.from([...reply, ...boot]));
      return 'drop-request';
    };
    await expect(board.readRegister(FAKE.CMAR1)).rejects.toBeInstanceOf(DeviceResetError);
    await board.close();
  });
});

describe('register batches', () => {
  it('a failure in a batch names the register of the operation that failed', async () => {
    const { board } = await openBoardOnFake();
    const start = await board.raw.batch((b) => b.write(FAKE.CNDTR1, 0).write(FAKE.CCR1, 0x91));
    expect(start.failure?.index).toBe(1);
    expect(start.failure?.error).toBeInstanceOf(DmaStartRefusedError);
    expect(start.failure?.error).toMatchObject({ command: 'REG_BATCH WRITE', address: FAKE.CCR1, reason: 7 });
    await board.close();
  });

  it('BUSY in a batch names the register a channel works on', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    fake.registers.set(FAKE.CNDTR1, 8);
    fake.registers.set(FAKE.CMAR1, ARENA);
    fake.registers.set(FAKE.CCR1, 0x91);
    const r = await board.raw.batch((b) => b.read(FAKE.CCR1).maskedWrite(FAKE.CMAR1, 0xff, 0x10));
    expect(r.failure?.error).toBeInstanceOf(BusyError);
    expect(r.failure?.error.command).toBe('REG_BATCH MASKED-WRITE');
    expect(r.failure?.error.message).toMatch(/^REG_BATCH MASKED-WRITE on DMA1_CMAR1 refused: /);
    await board.close();
  });

  it('a STATUS of a channel the board does not have fails with the channel it named', async () => {
    const { board } = await openBoardOnFake();
    const r = await board.raw.batch((b) => b.status(3));
    expect(r.failure?.index).toBe(0);
    expect(r.failure?.error).toBeInstanceOf(RegisterNotAllowedError);
    expect(r.failure?.error).toMatchObject({ command: 'REG_BATCH STATUS', address: 3 });
    await board.close();
  });

  it('a split batch that fails in its first piece sends no more, and calls onReply once, for that piece', async () => {
    const { board, fake } = await openBoardOnFake();
    const ok = { op: 'read' as const, address: FAKE.USART_ISR };
    const ops = [...Array.from({ length: 20 }, () => ok), { op: 'read' as const, address: 0x1 }];
    const long = [...ops, ...Array.from({ length: 130 }, () => ok)];
    const replies: Reply[] = [];
    const before = fake.received.filter((x) => x.command === 'reg-batch').length;
    const r = await board.raw.batch(long, { onReply: (reply) => replies.push(reply) });
    expect(r.executed).toBe(20);
    expect(r.failure?.index).toBe(20);
    expect(r.values).toHaveLength(20);
    expect(fake.received.filter((x) => x.command === 'reg-batch').length - before).toBe(1);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ command: 'reg-batch', executed: 20 });
    await board.close();
  });

  it('gives each request the time its POLLs may take on the board before asking again', async () => {
    const { board, fake } = await openBoardOnFake({ board: { retransmitTimeoutMs: 10, maxRetries: 1 } });
    fake.hang();
    const e = await rejection(
      board.raw.batch((b) =>
        b.poll(FAKE.USART_ISR, 1, 1, 5000).read(FAKE.CCR1).poll(FAKE.USART_ISR, 1, 1, 10_500),
      ),
    );
    expect(e).toBeInstanceOf(LinkTimeoutError);
    // 10 ms of the link plus 15.5 ms of polls, rounded up; the read adds nothing.
    expect(e.message).toMatch(/ after 2 attempts 26 ms apart: /);
    expect(board.stats.timeouts).toBe(1);
    await board.close();
  });
});

describe('memory', () => {
  it('refuses ranges that are not whole, positive and inside the arena before sending anything', async () => {
    const { board, fake } = await openBoardOnFake();
    const before = sentCount(fake);
    for (const [address, length] of [
      [ARENA + 0.5, 4],
      [ARENA, 2.5],
      [ARENA, Number.NaN],
      [ARENA, 0],
      [ARENA, -1],
      [ARENA - 1, 4],
      [ARENA + SIZE - 3, 4],
    ] as const) {
      const e = await rejection(board.readMemory(address, length));
      expect(e).toBeInstanceOf(OutOfArenaError);
      expect(e).toMatchObject({ command: 'MEM_READ', address, length });
    }
    for (const [address, length] of [
      [ARENA + 0.5, 4],
      [ARENA, 0],
      [ARENA - 1, 4],
      [ARENA + SIZE - 3, 4],
    ] as const) {
      const e = await rejection(board.raw.writeMemory(address, new Uint8Array(length)));
      expect(e).toBeInstanceOf(OutOfArenaError);
      expect(e).toMatchObject({ command: 'MEM_WRITE', address, length });
    }
    expect(sentCount(fake)).toBe(before);
    // The last bytes of the arena are in it.
    await board.raw.writeMemory(ARENA + SIZE - 4, Uint8Array.of(1, 2, 3, 4));
    expect(await board.readMemory(ARENA + SIZE - 4, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
    await board.close();
  });

  it("the board's refusal of one piece names that piece's address and length", async () => {
    // The board says its arena is twice what it serves: the driver sends, the board refuses past the end.
    const { board } = await openLyingArena();
    const read = await rejection(board.readMemory(ARENA + SIZE - 256, 512));
    expect(read).toBeInstanceOf(OutOfArenaError);
    expect(read).toMatchObject({ command: 'MEM_READ', address: ARENA + SIZE, length: 256 });
    const write = await rejection(board.raw.writeMemory(ARENA + SIZE - 1020, new Uint8Array(1020 + 10)));
    expect(write).toBeInstanceOf(OutOfArenaError);
    expect(write).toMatchObject({ command: 'MEM_WRITE', address: ARENA + SIZE, length: 10 });
    await board.close();
  });

  it('a MEM_READ reply of the wrong length is a protocol error naming what came back', async () => {
    const { board, fake } = await openBoardOnFake();
    let n = 0;
    fake.onRequest = (r) => {
      if (r.command !== 'mem-read' || ++n !== 2) return 'process';
      fake.sendRaw(
        encodeMessage({
          kind: 'reply',
          mark: fake.mark,
          seq: r.seq,
          command: 'mem-read',
          result: { status: Status.OK, data: new Uint8Array(3) },
        }),
      );
      return 'drop-reply';
    };
    const e = await rejection(board.readMemory(ARENA, 300));
    expect(e).toBeInstanceOf(LinkProtocolError);
    expect(e.message).toBe(
      'MEM_READ of 44 bytes at 0x20004100 came back with 3: the firmware does not follow PROTOCOL.md §2',
    );
    await board.close();
  });
});

/** A fake whose HELLO says its arena is twice the 16 KiB it serves. */
async function openLyingArena() {
  const { host, device } = createMemoryTransportPair();
  const fake = new FakeBoard(device);
  (fake.hello as { arenaSize: number }).arenaSize = 2 * SIZE;
  const board = await Board.open(host, { retransmitTimeoutMs: 20 });
  return { board, fake };
}

describe('the board as opened', () => {
  it('keeps the real timers unless given others, and says which capabilities HELLO gave', async () => {
    const { board } = await openBoardOnFake({ fake: { capabilities: 0b0101 } });
    expect(board.timers).toBe(realTimers);
    expect(board.hasCapability(0b0001)).toBe(true);
    expect(board.hasCapability(0b0100)).toBe(true);
    expect(board.hasCapability(0b0010)).toBe(false);
    expect(board.hasCapability(0b1000)).toBe(false);
    expect(board.linkRate).toEqual({
      baud: 115_200,
      bootBaud: 115_200,
      note: 'the firmware (2.4.0) has a fixed rate of 115200 baud',
    });
    await board.close();
  });
});
