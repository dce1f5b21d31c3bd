/**
 * The board over its life: notifications and subscribers, peripherals
 * taken and given back, allocation, recover() and reconnect() (what each
 * sends, what runs meanwhile, what they share), the arena after a new
 * session, and the name a board goes by in messages.
 */
import { describe, expect, it } from 'vitest';
import { LinkProtocolError } from '../link/errors.ts';
import { encodeMessage, type Reply, Status } from '../protocol/index.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FakeBoard } from '../test-support/fake-board.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { Board } from './board.ts';
import { ForeignBufferError } from './buffer-errors.ts';
import { lendBuffer } from './dma-buffer.ts';
import {
  AlreadyTakenError,
  BoardRecoveringError,
  ProtocolMismatchError,
  RevokedError,
  TransportInUseError,
} from './errors.ts';
import type { BoardNotification } from './events.ts';
import { boardInternals } from './internals.ts';

const ARENA = 0x2000_4000;
const SIZE = 0x4000;

const commands = (fake: FakeBoard, from = 0) => fake.received.slice(from).map((r) => r.command);

/** The fake answers the next request of `command` with `result` instead of its own reply. */
function answerNext(fake: FakeBoard, command: 'hello' | 'reset-peripherals', result: { status: number }) {
  fake.onRequest = (r) => {
    if (r.command !== command) return 'process';
    fake.onRequest = undefined;
    fake.sendRaw(encodeMessage({ kind: 'reply', mark: fake.mark, seq: r.seq, command, result } as Reply));
    return 'drop-reply';
  };
}

describe('notifications', () => {
  it('an unsubscribed listener hears nothing more; a throwing one keeps no other from its events', async () => {
    const { board, fake } = await openBoardOnFake();
    const first: BoardNotification[] = [];
    const second: BoardNotification[] = [];
    board.subscribe(() => {
      throw new Error('a subscriber bug');
    });
    const unsubscribe = board.subscribe((n) => first.push(n));
    board.subscribe((n) => second.push(n));
    fake.emitEvent({ event: 'dma', channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 });
    await board.ping();
    expect(unsubscribe()).toBe(true);
    fake.emitEvent({ event: 'dma', channel: 2, flags: 2, cndtr: 0, ccr: 0x83, completions: 1, starts: 1 });
    await board.ping();
    expect(first.map((n) => n.kind)).toEqual(['dma']);
    expect(second.map((n) => n.kind)).toEqual(['dma', 'dma']);
    await board.close();
  });

  it('a damaged frame is reported as events perhaps lost', async () => {
    const { board, fake } = await openBoardOnFake();
    const seen: BoardNotification[] = [];
    board.subscribe((n) => seen.push(n));
    fake.sendRaw(Uint8Array.of(0x07, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x00));
    await board.ping();
    expect(seen).toEqual([{ kind: 'events-lost', lost: 0, suspected: true }]);
    await board.close();
  });

  it('a reset and the closing of the link are told to subscribers', async () => {
    const { board, fake } = await openBoardOnFake();
    const seen: BoardNotification[] = [];
    board.subscribe((n) => seen.push(n));
    fake.reset();
    await expect(board.ping()).rejects.toThrow();
    await board.close();
    expect(seen.map((n) => n.kind)).toEqual(['reset', 'boot', 'closed']);
  });
});

describe('peripherals taken once per session', () => {
  it('given back after a failed take, a peripheral can be taken again', async () => {
    const { board } = await openBoardOnFake();
    const handle = board.claim('DMA1 channel 1');
    board.unclaim('DMA1 channel 1', handle);
    const again = board.claim('DMA1 channel 1');
    expect(board.handles.isValid(again)).toBe(true);
    expect(() => board.claim('DMA1 channel 1')).toThrow(AlreadyTakenError);
    await board.close();
  });

  it('the handle of another resource gives back nothing', async () => {
    const { board } = await openBoardOnFake();
    board.claim('DMA1 channel 1');
    const serial = board.claim('Serial1 (USART1)');
    board.unclaim('DMA1 channel 1', serial);
    expect(() => board.claim('DMA1 channel 1')).toThrow(AlreadyTakenError);
    await board.close();
  });

  it('a handle from before recover() gives back nothing taken since', async () => {
    const { board } = await openBoardOnFake();
    const old = board.claim('DMA1 channel 1');
    await board.recover();
    board.claim('DMA1 channel 1');
    board.unclaim('DMA1 channel 1', old);
    expect(() => board.claim('DMA1 channel 1')).toThrow(AlreadyTakenError);
    await board.close();
  });
});

describe('allocation', () => {
  it('aligns buffers to 4 bytes unless told otherwise', async () => {
    const { board } = await openBoardOnFake();
    const a = board.alloc(1);
    const b = board.alloc(1);
    expect(a.address).toBe(ARENA);
    expect(b.address).toBe(ARENA + 4);
    const c = board.alloc(1, { align: 64 });
    expect(c.address).toBe(ARENA + 64);
    const d = board.alloc(1, { align: 1 });
    expect(d.address).toBe(ARENA + 1);
    await board.close();
  });

  it('the arena regions are a frozen copy of the ledger, by address', async () => {
    const { board } = await openBoardOnFake();
    board.alloc(16);
    const regions = board.arenaRegions();
    expect(Object.isFrozen(regions)).toBe(true);
    expect(regions).toEqual([
      { address: ARENA, length: 16, state: 'owned' },
      { address: ARENA + 16, length: SIZE - 16, state: 'free' },
    ]);
    expect(board.inspectArena()).toEqual({
      free: [{ address: ARENA + 16, length: SIZE - 16 }],
      live: [{ address: ARENA, length: 16 }],
    });
    await board.close();
  });
});

describe('recover()', () => {
  it('on an open link resets the peripherals (no new session), once for calls made together', async () => {
    const { board, fake } = await openBoardOnFake();
    const from = fake.received.length;
    const buf = board.alloc(16);
    const [a, b] = [board.recover(), board.recover()];
    await Promise.all([a, b]);
    expect(commands(fake, from)).toEqual(['reset-peripherals']);
    await expect(buf.read()).rejects.toThrow(
      'this DmaBuffer was revoked by board.recover(); take the peripheral or allocate the buffer again',
    );
    expect(board.arenaUsage().free).toBe(SIZE);
    await board.close();
  });

  it('refuses allocation and taking peripherals until the board confirmed, naming what runs', async () => {
    const { board } = await openBoardOnFake();
    const recovering = board.recover();
    expect(() => board.alloc(4)).toThrow(new BoardRecoveringError('allocate').message);
    expect(() => board.alloc(4)).toThrow('cannot allocate while board.recover() runs: await it first');
    expect(() => board.claim('Serial1')).toThrow(
      'cannot take a peripheral while board.recover() runs: await it first',
    );
    await recovering;
    board.alloc(4);
    const reconnecting = board.reconnect();
    expect(() => board.alloc(4)).toThrow('cannot allocate while board.reconnect() runs: await it first');
    await reconnecting;
    board.alloc(4);
    await board.close();
  });

  it('a refusal that is no reset fails recover(), and the board can be used after', async () => {
    const { board, fake } = await openBoardOnFake();
    answerNext(fake, 'reset-peripherals', { status: Status.UNKNOWN_COMMAND });
    await expect(board.recover()).rejects.toBeInstanceOf(ProtocolMismatchError);
    expect(commands(fake).filter((c) => c === 'hello')).toHaveLength(1);
    board.alloc(4);
    await board.recover();
    await board.close();
  });

  it('a board that resets under RESET_PERIPHERALS is reconnected to', async () => {
    const { board, fake } = await openBoardOnFake();
    fake.onRequest = (r) => {
      if (r.command !== 'reset-peripherals') return 'process';
      fake.onRequest = undefined;
      fake.reset();
      return 'drop-request';
    };
    const from = fake.received.length;
    await board.recover();
    expect(commands(fake, from)).toEqual(['hello']);
    expect(board.epoch).toBe(fake.bootEpoch);
    await board.close();
  });

  it('RESET_PERIPHERALS never answered: a new session is opened instead', async () => {
    const { board, fake } = await openBoardOnFake({ board: { retransmitTimeoutMs: 5, maxRetries: 1 } });
    fake.onRequest = (r) => (r.command === 'reset-peripherals' ? 'drop-request' : 'process');
    await board.recover();
    fake.onRequest = undefined;
    expect(commands(fake).slice(-1)).toEqual(['hello']);
    expect(board.state).toBe('open');
    await board.close();
  });

  it('a session reopened under RESET_PERIPHERALS is the one recover() ends in', async () => {
    const { board, fake } = await openBoardOnFake();
    const from = fake.received.length;
    fake.onRequest = (r) => (r.command === 'reset-peripherals' ? 'drop-reply' : 'process');
    const recovering = board.recover();
    await new Promise((resolve) => setTimeout(resolve, 1));
    fake.onRequest = undefined;
    const reconnecting = board.reconnect();
    await Promise.all([recovering, reconnecting]);
    expect(commands(fake, from)).toEqual(['reset-peripherals', 'hello']);
    await board.close();
  });

  it('opens a new session when the link has none, whatever ended the last one', async () => {
    const { board, fake } = await openBoardOnFake();
    answerNext(fake, 'hello', { status: Status.BAD_LENGTH });
    await expect(board.reconnect()).rejects.toBeInstanceOf(LinkProtocolError);
    const from = fake.received.length;
    await board.recover();
    expect(commands(fake, from)).toEqual(['hello']);
    expect(board.state).toBe('open');
    await board.close();
  });

  it('lets a session being opened open, then resets the peripherals in it', async () => {
    const { board, fake } = await openBoardOnFake();
    const from = fake.received.length;
    const reconnecting = board.reconnect();
    const recovering = board.recover();
    await Promise.all([reconnecting, recovering]);
    expect(commands(fake, from)).toEqual(['hello', 'reset-peripherals']);
    await board.close();
  });
});

describe('reconnect()', () => {
  it('calls made together share one HELLO; a later call opens another session', async () => {
    const { board, fake } = await openBoardOnFake();
    const from = fake.received.length;
    const [a, b] = await Promise.all([board.reconnect(), board.reconnect()]);
    expect(a).toBe(b);
    expect(commands(fake, from)).toEqual(['hello']);
    await board.reconnect();
    expect(commands(fake, from)).toEqual(['hello', 'hello']);
    await board.close();
  });

  it('revokes what was taken before, saying the session was reopened', async () => {
    const { board } = await openBoardOnFake();
    const handle = board.claim('DMA1 channel 1');
    await board.reconnect();
    const e = (() => {
      try {
        board.handles.check(handle);
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(RevokedError);
    expect(e?.message).toBe(
      'DMA1 channel 1 was revoked when the session was reopened (the board stopped its DMA channels and ' +
        'reset USART1 for the new session); take the peripheral or allocate the buffer again',
    );
    await board.close();
  });

  it('takes the arena of the firmware it finds: another base or another size gives a fresh ledger', async () => {
    const { board, fake } = await openBoardOnFake();
    board.alloc(64);
    const hello = fake.hello as { arenaBase: number; arenaSize: number };
    hello.arenaBase = ARENA + 0x1000;
    await board.reconnect();
    expect(board.arena).toEqual({ base: ARENA + 0x1000, size: SIZE });
    expect(board.arenaRegions()).toEqual([{ address: ARENA + 0x1000, length: SIZE, state: 'free' }]);
    expect(board.alloc(8).address).toBe(ARENA + 0x1000);
    hello.arenaSize = SIZE / 2;
    await board.reconnect();
    expect(board.arena).toEqual({ base: ARENA + 0x1000, size: SIZE / 2 });
    expect(board.arenaUsage()).toMatchObject({ free: SIZE / 2, largestFree: SIZE / 2, buffers: 0 });
    await board.close();
  });
});

describe('the name a board goes by', () => {
  it("is its transport's description, or its UID when the transport has none", async () => {
    const described = await openBoardOnFake();
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device);
    const bare = await Board.open(
      { readable: host.readable, writable: host.writable, close: () => host.close() },
      { retransmitTimeoutMs: 20 },
    );
    expect(boardInternals(described.board).name).toBe('the board on in-memory host end');
    expect(boardInternals(bare).name).toBe('the board 0102030405060708090a0b0c');
    const buf = described.board.alloc(8);
    const other = boardInternals(bare);
    const e = (() => {
      try {
        lendBuffer(buf, 'writeAll()', { ledger: other.ledger, name: other.name });
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(ForeignBufferError);
    expect(e?.message).toBe(
      'this DmaBuffer was allocated on the board on in-memory host end, but the transfer runs on the board ' +
        '0102030405060708090a0b0c: allocate the buffer with the same board the serial port was taken from',
    );
    const mine = boardInternals(described.board);
    const loan = lendBuffer(buf, 'writeAll()', { ledger: mine.ledger, name: mine.name });
    expect(() => loan.aim(other.ledger, 1)).toThrow(
      'this DmaBuffer was allocated on the board on in-memory host end, but the transfer runs on this board',
    );
    await described.board.close();
    await bare.close();
  });
});

describe('the transport a board is open on', () => {
  it('stays taken while events come and go, and is free once the link closed', async () => {
    const { host, device } = createMemoryTransportPair();
    const fake = new FakeBoard(device);
    const board = await Board.open(host, { retransmitTimeoutMs: 20 });
    fake.emitEvent({ event: 'dma', channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 });
    await board.ping();
    await expect(Board.open(host, { retransmitTimeoutMs: 20 })).rejects.toBeInstanceOf(TransportInUseError);
    await fake.close();
    await expect(board.ping()).rejects.toThrow();
    // The line is gone: opening fails, but not because a board holds the transport.
    const e = await Board.open(host, { retransmitTimeoutMs: 20, maxRetries: 1 }).catch(
      (error: unknown) => error,
    );
    expect(e).not.toBeInstanceOf(TransportInUseError);
  });

  it('is not held by a board whose opening failed on the link', async () => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device).hang();
    await expect(Board.open(host, { retransmitTimeoutMs: 10, maxRetries: 1 })).rejects.toThrow(
      /did not answer HELLO/,
    );
    const e = await Board.open(host, { retransmitTimeoutMs: 10, maxRetries: 1 }).catch(
      (error: unknown) => error,
    );
    expect(e).not.toBeInstanceOf(TransportInUseError);
  });
});
