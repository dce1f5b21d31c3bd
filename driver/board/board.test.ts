import { describe, expect, it } from 'vitest';
import { DriverError } from '../driver-error.ts';
import { DeviceResetError } from '../link/errors.ts';
import { Status } from '../protocol/index.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, FakeBoard } from '../test-support/fake-board.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { Board } from './board.ts';
import {
  AlreadyTakenError,
  BusyError,
  DmaStartRefusedError,
  InvalidHelloError,
  OutOfArenaError,
  PollTimeoutError,
  RegisterNotAllowedError,
  RevokedError,
  TransportInUseError,
  UnsupportedProtocolError,
  ValueNotAllowedError,
  WrongChipError,
} from './errors.ts';
import type { BoardNotification } from './events.ts';
import { RawWriteRefusedError } from './ledger-errors.ts';

describe('Board.open', () => {
  it('exposes the validated HELLO, the arena and the epoch', async () => {
    const { board, fake } = await openBoardOnFake();
    expect(board.hello.devId).toBe(0x460);
    expect(board.arena).toEqual({ base: 0x2000_4000, size: 0x4000 });
    expect(board.epoch).toBe(fake.bootEpoch);
    expect(board.limits).toEqual({ memRead: 256, memWrite: 1020, batchPayload: 1024 });
    await board.close();
  });

  const refuses = async (
    fake: ConstructorParameters<typeof FakeBoard>[1],
    error: new (...a: never[]) => Error,
  ) => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device, fake);
    await expect(Board.open(host, { retransmitTimeoutMs: 20 })).rejects.toBeInstanceOf(error);
  };

  it('refuses another protocol version, another chip and a nonsensical HELLO', async () => {
    await refuses({ protocolVersion: 1 }, UnsupportedProtocolError);
    await refuses({ protocolVersion: 3 }, UnsupportedProtocolError);
    await refuses({ devId: 0x413 }, WrongChipError);
    await refuses({ window: 0 }, InvalidHelloError);
    await refuses({ maxReplyPayload: 4 }, InvalidHelloError);
  });
});

describe('Board.open on a transport a board is open on', () => {
  it('rejects with TransportInUseError (a DriverError), and the first board works on', async () => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device);
    const first = await Board.open(host, { retransmitTimeoutMs: 20 });
    const second = await Board.open(host, { retransmitTimeoutMs: 20 }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(TransportInUseError);
    expect(second).toBeInstanceOf(DriverError);
    expect(await first.ping(Uint8Array.of(7))).toEqual(Uint8Array.of(7));
    await first.close();
  });
});

describe('Board registers', () => {
  it('reads and writes registers', async () => {
    const { board, fake } = await openBoardOnFake();
    await board.raw.writeRegister(FAKE.CNDTR1, 16);
    expect(fake.reg(FAKE.CNDTR1)).toBe(16);
    expect(await board.readRegister(FAKE.CNDTR1)).toBe(16);
    await board.close();
  });

  it('throws typed errors for each refusal, naming the register', async () => {
    const { board } = await openBoardOnFake();
    const e1 = await board.readRegister(0x4800_0000).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RegisterNotAllowedError);
    expect((e1 as RegisterNotAllowedError).status).toBe(Status.REG_NOT_ALLOWED);
    expect((e1 as RegisterNotAllowedError).address).toBe(0x4800_0000);
    const e2 = await board.readRegister(FAKE.USART_TDR).catch((e: unknown) => e);
    expect((e2 as Error).message).toMatch(/USART1_TDR/);
    await expect(board.raw.writeRegister(FAKE.USART_CR1, 1 << 5)).rejects.toBeInstanceOf(
      ValueNotAllowedError,
    );
    // Enabling channel 1 with CNDTR = 0 fails the start checks (reason 7).
    const e3 = await board.raw.writeRegister(FAKE.CCR1, 0x91).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(DmaStartRefusedError);
    expect((e3 as DmaStartRefusedError).reason).toBe(7);
    expect((e3 as Error).message).toMatch(/set the transfer length/);
    await board.close();
  });

  it('runs batches with a typed builder and returns the failure with its index', async () => {
    const { board } = await openBoardOnFake();
    const ok = await board.raw.batch((b) =>
      b.write(FAKE.CMAR1, 0x2000_4000).read(FAKE.CMAR1).read(FAKE.USART_ISR),
    );
    expect(ok).toEqual({ executed: 3, values: [0x2000_4000, 0xc0] });
    const failed = await board.raw.batch((b) =>
      b
        .read(FAKE.CMAR1)
        .poll(FAKE.USART_ISR, 1 << 5, 1 << 5, 0)
        .read(FAKE.CMAR1),
    );
    expect(failed.executed).toBe(1);
    expect(failed.values).toEqual([0x2000_4000]);
    expect(failed.failure?.index).toBe(1);
    expect(failed.failure?.error).toBeInstanceOf(PollTimeoutError);
    expect((failed.failure!.error as PollTimeoutError).lastValue).toBe(0xc0);
    await board.close();
  });

  it('calls onReply once, for the reply that completes a split operation', async () => {
    const { board } = await openBoardOnFake();
    let calls = 0;
    const ops = Array.from({ length: 150 }, () => ({ op: 'read' as const, address: FAKE.USART_ISR }));
    await board.raw.batch(ops, { onReply: () => calls++ });
    expect(calls).toBe(1);
    await board.raw.writeMemory(0x2000_4000, new Uint8Array(3000), { onReply: () => calls++ });
    expect(calls).toBe(2);
    await board.readMemory(0x2000_4000, 600, { onReply: () => calls++ });
    expect(calls).toBe(3);
    await board.close();
  });

  it('splits a long batch across requests and keeps the stop-at-first-failure rule', async () => {
    const { board, fake } = await openBoardOnFake();
    const ops = Array.from({ length: 150 }, () => ({ op: 'read' as const, address: FAKE.USART_ISR }));
    const r = await board.raw.batch(ops);
    expect(r.executed).toBe(150);
    expect(r.values).toHaveLength(150);
    expect(fake.received.filter((x) => x.command === 'reg-batch')).toHaveLength(3);
    const bad = [...ops.slice(0, 70), { op: 'read' as const, address: 0x1 }, ...ops.slice(0, 10)];
    const r2 = await board.raw.batch(bad);
    expect(r2.executed).toBe(70);
    expect(r2.failure?.index).toBe(70);
    expect(r2.failure?.error).toBeInstanceOf(RegisterNotAllowedError);
    await board.close();
  });
});

describe('Board memory', () => {
  it('writes and reads memory in pipelined pieces', async () => {
    const { board, fake } = await openBoardOnFake();
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff);
    await board.raw.writeMemory(0x2000_4100, data);
    expect(fake.arena.subarray(0x100, 0x100 + 5000)).toEqual(data);
    expect(await board.readMemory(0x2000_4100, 5000)).toEqual(data);
    const reads = fake.received.filter((r) => r.command === 'mem-read');
    expect(reads.length).toBe(Math.ceil(5000 / 256));
    await board.close();
  });

  it('refuses ranges outside the arena before sending anything', async () => {
    const { board, fake } = await openBoardOnFake();
    const before = fake.received.length;
    await expect(board.readMemory(0x2000_3fff, 2)).rejects.toBeInstanceOf(OutOfArenaError);
    await expect(board.raw.writeMemory(0x2000_7fff, new Uint8Array(2))).rejects.toThrow(
      /outside the DMA arena/,
    );
    await expect(board.readMemory(0x2000_4000, 0)).rejects.toBeInstanceOf(OutOfArenaError);
    expect(fake.received.length).toBe(before);
    await board.close();
  });

  it('reports BUSY when the board refuses a write where an enabled channel works (one the ledger never saw)', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    // Set on the board behind the driver's back: only the board knows the channel runs.
    fake.registers.set(FAKE.CNDTR1, 8);
    fake.registers.set(FAKE.CMAR1, 0x2000_4000);
    fake.registers.set(FAKE.CCR1, 0x91);
    await expect(board.raw.writeMemory(0x2000_4004, Uint8Array.of(1))).rejects.toBeInstanceOf(BusyError);
    await board.raw.writeMemory(0x2000_4008, Uint8Array.of(1));
    await board.close();
  });

  it('refuses a raw memory write where a raw start made a channel work (read back by the ledger)', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) =>
      b
        .write(FAKE.CNDTR1, 8)
        .write(FAKE.CPAR1, FAKE.USART_TDR)
        .write(FAKE.CMAR1, 0x2000_4000)
        .write(FAKE.C0CR, 51)
        .write(FAKE.CCR1, 0x91),
    );
    // The ledger read the raw start back and refuses first (the board would say BUSY).
    await expect(board.raw.writeMemory(0x2000_4004, Uint8Array.of(1))).rejects.toBeInstanceOf(
      RawWriteRefusedError,
    );
    expect(board.arenaUsage().inDoubt).toBe(8);
    expect(() => board.alloc(16 * 1024 - 4)).toThrow(/8 bytes are in doubt or leaked/);
    await board.raw.writeMemory(0x2000_4008, Uint8Array.of(1));
    await board.close();
  });
});

describe('Board raw access', () => {
  it('a raw start it cannot read back puts the whole arena in doubt until recover()', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    let silent = true;
    // The read-back after the start (a batch with STATUS) never gets an answer.
    fake.onRequest = (r) =>
      silent && r.command === 'reg-batch' && r.ops.some((op) => op.op === 'status')
        ? 'drop-reply'
        : 'process';
    const start = board.raw.batch((b) =>
      b
        .write(FAKE.CNDTR1, 8)
        .write(FAKE.CPAR1, FAKE.USART_TDR)
        .write(FAKE.CMAR1, 0x2000_4000)
        .write(FAKE.C0CR, 51)
        .write(FAKE.CCR1, 0x91),
    );
    expect((await start).failure).toBeUndefined();
    expect(board.arenaUsage()).toMatchObject({ inDoubt: board.arena.size, free: 0 });
    expect(() => board.alloc(4)).toThrow(/only board\.recover\(\) returns them/);
    silent = false;
    await board.recover();
    expect(board.arenaUsage()).toMatchObject({ inDoubt: 0, free: board.arena.size });
    await board.close();
  });
});

describe('Board events, resets and handles', () => {
  it('delivers typed events', async () => {
    const { board, fake } = await openBoardOnFake();
    const seen: BoardNotification[] = [];
    board.subscribe((n) => seen.push(n));
    fake.emitEvent({
      event: 'dma',
      channel: 1,
      flags: 0b1010,
      cndtr: 3,
      ccr: 0x92,
      completions: 1,
      starts: 1,
    });
    fake.emitEvent(
      { event: 'usart', flags: 0b1001_0000 & 0x7f, isr: 0xd0, cndtr1: 0, cndtr2: 0 },
      { skipCounters: 1 },
    );
    await board.ping();
    expect(seen[0]).toMatchObject({ kind: 'dma', channel: 1, tc: true, te: true, ht: false, cndtr: 3 });
    expect(seen[1]).toEqual({ kind: 'events-lost', lost: 1 });
    expect(seen[2]).toMatchObject({ kind: 'usart', idle: true, ore: false });
    await board.close();
  });

  it('fails in-flight work and revokes handles when the board resets; reconnect starts afresh', async () => {
    const { board, fake } = await openBoardOnFake();
    const handle = board.claim('DMA1 channel 1');
    expect(() => board.claim('DMA1 channel 1')).toThrow(AlreadyTakenError);
    const resets: BoardNotification[] = [];
    board.subscribe((n) => n.kind === 'reset' && resets.push(n));
    fake.hang();
    const inflight = board.readMemory(0x2000_4000, 1024).catch((e: unknown) => e);
    (fake as unknown as { stopped: boolean }).stopped = false;
    fake.reset();
    expect(await inflight).toBeInstanceOf(DeviceResetError);
    expect(resets).toHaveLength(1);
    expect(board.handles.isValid(handle)).toBe(false);
    await expect(board.readRegister(FAKE.CCR1, { handle })).rejects.toBeInstanceOf(RevokedError);
    const hello = await board.reconnect();
    expect(hello.bootEpoch).toBe(fake.bootEpoch);
    const err = await board.readRegister(FAKE.CCR1, { handle }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RevokedError);
    expect(err).toBeInstanceOf(DeviceResetError);
    expect((err as Error).message).toMatch(/DMA1 channel 1 was issued before the board reset/);
    // After the reset the resource can be taken again, once.
    const again = board.claim('DMA1 channel 1');
    expect(await board.readRegister(FAKE.CCR1, { handle: again })).toBe(0);
    await board.close();
  });

  it('a BOOT event frees nothing a DMA may run on: only a new session’s HELLO reply does', async () => {
    // The BOOT event may be a frame of an older boot delayed on the line:
    // the board may never have reset and its channel may still run.
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    let silent = true;
    fake.onRequest = (r) =>
      silent && r.command === 'reg-batch' && r.ops.some((op) => op.op === 'status')
        ? 'drop-reply'
        : 'process';
    const start = board.raw.batch((b) =>
      b
        .write(FAKE.CNDTR1, 8)
        .write(FAKE.CPAR1, FAKE.USART_TDR)
        .write(FAKE.CMAR1, 0x2000_4000)
        .write(FAKE.C0CR, 51)
        .write(FAKE.CCR1, 0x91),
    );
    expect((await start).failure).toBeUndefined();
    silent = false;
    const handle = board.handles.issue('a buffer');
    const reset = new Promise((resolve) => board.subscribe((n) => n.kind === 'reset' && resolve(n.error)));
    fake.reset();
    expect(await reset).toBeInstanceOf(DeviceResetError);
    expect(board.handles.isValid(handle)).toBe(false);
    expect(board.arenaUsage()).toMatchObject({ inDoubt: board.arena.size, free: 0 });
    await board.reconnect();
    expect(board.arenaUsage()).toMatchObject({ inDoubt: 0, free: board.arena.size });
    await board.close();
  });

  it('notices a reset that happened while no session was open when reconnecting', async () => {
    const { board, fake } = await openBoardOnFake();
    const handle = board.handles.issue('a buffer');
    fake.reset({ bootEvent: false });
    await board.reconnect();
    expect(() => board.handles.check(handle)).toThrow(RevokedError);
    await board.close();
  });
});
