/**
 * The board's refusals and the errors of opening and of revoked handles, as
 * a user reads them: each class's name (what a stack trace and a log show),
 * the facts it carries and its whole message, which says what to change.
 */
import { describe, expect, it } from 'vitest';
import { STM32G071 } from '../chip/stm32g071.ts';
import { DriverError } from '../driver-error.ts';
import { DeviceResetError } from '../link/errors.ts';
import { PROTOCOL_VERSION, type Refusal, Status } from '../protocol/index.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, FakeBoard } from '../test-support/fake-board.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { Board } from './board.ts';
import { BufferBusyError, BufferFreedError, ForeignBufferError, MovedError } from './buffer-errors.ts';
import {
  AlreadyTakenError,
  BoardRecoveringError,
  BoardRefusedError,
  BusyError,
  DmaStartRefusedError,
  InvalidHelloError,
  LinkRateError,
  OutOfArenaError,
  PollTimeoutError,
  ProtocolMismatchError,
  RegisterNotAllowedError,
  RevokedError,
  TransportInUseError,
  UnsupportedProtocolError,
  ValueNotAllowedError,
  WrongChipError,
} from './errors.ts';
import { LedgerError, RawWriteRefusedError } from './ledger-errors.ts';
import { refusalToError } from './refusals.ts';

const ARENA = { base: 0x2000_4000, size: 0x4000 };
const ctx = { chip: STM32G071, arena: ARENA };

const ALLOW_LIST =
  'refused: the bridge only allows 4-aligned accesses to DMA1 channels 1-2, DMAMUX1 C0CR/C1CR and USART1, ' +
  'never a write to a read-only register (DMA1_ISR, USART1_ISR, RDR) nor a read of a write-only one ' +
  '(DMA1_IFCR, USART1_ICR, RQR, TDR)';
const VALUE_RULES =
  'refused for its value: USART1 interrupt enables the bridge does not serve (RXNEIE, TXEIE, CMIE, RTOIE, ...) ' +
  'and DMA1_IFCR bits of channels other than 1 and 2 are not allowed; see PROTOCOL.md §6';
const BUSY_ADVICE =
  'refused: a DMA channel is enabled and working there; stop the channel (clear CCR.EN) or wait for its ' +
  'transfer to complete first';

async function caught(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe("the board's refusals, from the board on the fake", () => {
  it('a register outside the allow-list: named when the chip knows it, by address when not', async () => {
    const { board } = await openBoardOnFake();
    const unnamed = await caught(board.readRegister(0x4800_0000));
    expect(unnamed).toBeInstanceOf(RegisterNotAllowedError);
    expect(unnamed).toBeInstanceOf(BoardRefusedError);
    expect(unnamed).toBeInstanceOf(DriverError);
    expect(unnamed).toMatchObject({
      name: 'RegisterNotAllowedError',
      status: Status.REG_NOT_ALLOWED,
      statusName: 'REG_NOT_ALLOWED (0x0a)',
      command: 'REG_READ',
      address: 0x4800_0000,
    });
    expect(unnamed.message).toBe(`REG_READ of 0x48000000 ${ALLOW_LIST}`);
    // The address in eight hex digits, whatever its size.
    const low = await caught(board.readRegister(0x10));
    expect(low.message).toBe(`REG_READ of 0x00000010 ${ALLOW_LIST}`);
    const named = await caught(board.readRegister(FAKE.USART_TDR));
    expect(named.message).toBe(`REG_READ of USART1_TDR ${ALLOW_LIST}`);
    const write = await caught(board.raw.writeRegister(FAKE.DMA_ISR, 0));
    expect(write).toMatchObject({ command: 'REG_WRITE', address: FAKE.DMA_ISR });
    expect(write.message).toBe(`REG_WRITE of DMA1_ISR ${ALLOW_LIST}`);
    await board.close();
  });

  it('a value the policy refuses names the register and the rules', async () => {
    const { board } = await openBoardOnFake();
    const e = await caught(board.raw.writeRegister(FAKE.USART_CR1, 1 << 5));
    expect(e).toBeInstanceOf(ValueNotAllowedError);
    expect(e).toMatchObject({
      name: 'ValueNotAllowedError',
      status: Status.VALUE_NOT_ALLOWED,
      command: 'REG_WRITE',
      address: FAKE.USART_CR1,
    });
    expect(e.message).toBe(`REG_WRITE to USART1_CR1 ${VALUE_RULES}`);
    await board.close();
  });

  it('a refused DMA start gives its reason and what to set', async () => {
    const { board } = await openBoardOnFake();
    const e = await caught(board.raw.writeRegister(FAKE.CCR1, 0x91));
    expect(e).toBeInstanceOf(DmaStartRefusedError);
    expect(e).toMatchObject({
      name: 'DmaStartRefusedError',
      status: Status.DMA_START_REFUSED,
      command: 'REG_WRITE',
      reason: 7,
      address: FAKE.CCR1,
      reasonDescription: 'CNDTR is 0: set the transfer length before enabling the channel',
    });
    expect(e.message).toBe(
      'the board refused to enable the DMA channel (reason 7): CNDTR is 0: set the transfer length before ' +
        'enabling the channel',
    );
    expect(DmaStartRefusedError.reasons[7]).toBe(
      'CNDTR is 0: set the transfer length before enabling the channel',
    );
    await board.close();
  });

  it('BUSY names the memory or the register a channel works on', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    fake.registers.set(FAKE.CNDTR1, 8);
    fake.registers.set(FAKE.CMAR1, 0x2000_4000);
    fake.registers.set(FAKE.CCR1, 0x91);
    const memory = await caught(board.raw.writeMemory(0x2000_4004, Uint8Array.of(1, 2)));
    expect(memory).toBeInstanceOf(BusyError);
    expect(memory).toMatchObject({ name: 'BusyError', status: Status.BUSY, command: 'MEM_WRITE' });
    expect(memory.message).toBe(`MEM_WRITE on 2 bytes at 0x20004004 ${BUSY_ADVICE}`);
    const register = await caught(board.raw.writeRegister(FAKE.CMAR1, 0x2000_4010));
    expect(register.message).toBe(`REG_WRITE on DMA1_CMAR1 ${BUSY_ADVICE}`);
    await board.close();
  });

  it('a POLL that did not match names the register, the last value and what to change', async () => {
    const { board } = await openBoardOnFake();
    const r = await board.raw.batch((b) => b.poll(FAKE.USART_ISR, 1 << 5, 1 << 5, 0));
    const e = r.failure!.error;
    expect(e).toBeInstanceOf(PollTimeoutError);
    expect(e).toMatchObject({
      name: 'PollTimeoutError',
      status: Status.POLL_TIMEOUT,
      command: 'REG_BATCH POLL',
      address: FAKE.USART_ISR,
      lastValue: 0xc0,
    });
    expect(e.message).toBe(
      'POLL of 0x4001381c did not match in time; last value 0x000000c0: raise timeoutUs or check that the ' +
        'condition can become true',
    );
    await board.close();
  });

  it('memory outside the arena is refused before it is sent, naming the range and the arena', async () => {
    const { board } = await openBoardOnFake();
    const e = await caught(board.readMemory(0x2000_3ffc, 8));
    expect(e).toBeInstanceOf(OutOfArenaError);
    expect(e).toMatchObject({
      name: 'OutOfArenaError',
      status: Status.OUT_OF_ARENA,
      command: 'MEM_READ',
      address: 0x2000_3ffc,
      length: 8,
      arena: ARENA,
    });
    expect(e.message).toBe(
      'MEM_READ of 8 bytes at 0x20003ffc is outside the DMA arena [0x20004000, 0x20008000) or empty: only ' +
        'arena memory is reachable',
    );
    await board.close();
  });
});

describe('refusalToError: every status the board may refuse with', () => {
  it('maps each refusal to its class, with the context it was sent in', () => {
    const of = (refusal: Refusal, more: { address?: number; length?: number } = {}) =>
      refusalToError('CMD', refusal, { ...ctx, ...more });
    expect(of({ status: Status.REG_NOT_ALLOWED, address: 0x10 })).toBeInstanceOf(RegisterNotAllowedError);
    expect(of({ status: Status.VALUE_NOT_ALLOWED, address: 0x10 })).toBeInstanceOf(ValueNotAllowedError);
    expect(of({ status: Status.VALUE_NOT_ALLOWED, address: 0x10 }).message).toBe(
      `CMD to 0x00000010 ${VALUE_RULES}`,
    );
    const arena = of({ status: Status.OUT_OF_ARENA }, { address: 0x2000_8000, length: 4 });
    expect(arena).toMatchObject({ name: 'OutOfArenaError', address: 0x2000_8000, length: 4, arena: ARENA });
    // A refusal of a request with no range says nothing made up.
    expect(of({ status: Status.OUT_OF_ARENA })).toMatchObject({ address: 0, length: 0 });
    expect(of({ status: Status.DMA_START_REFUSED, reason: 42 }).message).toBe(
      'the board refused to enable the DMA channel (reason 42): unknown reason 42',
    );
    expect(of({ status: Status.BUSY }).message).toBe(`CMD on the board ${BUSY_ADVICE}`);
    expect(of({ status: Status.BUSY }, { address: 0x4002_0100 }).message).toBe(
      `CMD on 0x40020100 ${BUSY_ADVICE}`,
    );
    expect(of({ status: Status.BUSY }, { length: 3 }).message).toBe(`CMD on 3 bytes at 0x0 ${BUSY_ADVICE}`);
    expect(of({ status: Status.POLL_TIMEOUT, lastValue: 1 })).toMatchObject({ address: 0, lastValue: 1 });
    const mismatch = of({ status: Status.UNKNOWN_COMMAND });
    expect(mismatch).toBeInstanceOf(ProtocolMismatchError);
    expect(mismatch).toMatchObject({
      name: 'ProtocolMismatchError',
      status: Status.UNKNOWN_COMMAND,
      command: 'CMD',
      statusName: 'UNKNOWN_COMMAND (0x05)',
    });
    expect(mismatch.message).toBe(
      'the board answered CMD with UNKNOWN_COMMAND (0x05) (the board does not know this request type ' +
        '(firmware too old?)): the driver and firmware disagree on the protocol; update the one that is older',
    );
  });

  it('a BoardRefusedError made directly is named and carries its status', () => {
    const e = new BoardRefusedError(Status.BUSY, 'CMD', 'why');
    expect(e).toMatchObject({
      name: 'BoardRefusedError',
      status: Status.BUSY,
      command: 'CMD',
      message: 'why',
    });
    expect(e.statusName).toBe('BUSY (0x0e)');
  });
});

describe('errors of opening a board', () => {
  const openOnFake = async (fake: ConstructorParameters<typeof FakeBoard>[1]) => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device, fake);
    return caught(Board.open(host, { retransmitTimeoutMs: 20 }));
  };

  it('another protocol version says both versions and what to flash', async () => {
    const e = await openOnFake({ protocolVersion: PROTOCOL_VERSION + 1 });
    expect(e).toBeInstanceOf(UnsupportedProtocolError);
    expect(e).toMatchObject({ name: 'UnsupportedProtocolError', protocolVersion: PROTOCOL_VERSION + 1 });
    expect(e.message).toBe(
      `the bridge speaks protocol version ${PROTOCOL_VERSION + 1}, this driver speaks ${PROTOCOL_VERSION}: ` +
        'flash the matching firmware or use a matching driver',
    );
  });

  it('another chip names both DEV_IDs and the description used', async () => {
    const e = await openOnFake({ devId: 0x413 });
    expect(e).toBeInstanceOf(WrongChipError);
    expect(e).toMatchObject({ name: 'WrongChipError', devId: 0x413, expected: 0x460 });
    expect(e.message).toBe(
      'the board reports DEV_ID 0x413 but the chip description is STM32G071 (DEV_ID 0x460): pass the ' +
        'description of the board you connected',
    );
  });

  it('a HELLO that makes no sense lists each problem by field', async () => {
    const e = await openOnFake({ window: 0 });
    expect(e).toBeInstanceOf(InvalidHelloError);
    expect(e).toMatchObject({
      name: 'InvalidHelloError',
      problems: 'window: a window of 0 would allow no request at all',
    });
    expect(e.message).toBe(
      "the board's HELLO reply does not make sense (window: a window of 0 would allow no request at all): " +
        'the firmware is broken or not the bridge',
    );
  });

  it('a HELLO wrong as a whole is named as the reply', async () => {
    const e = await openOnFake({ arenaBase: 0xffff_f000, arenaSize: 0x2000 });
    expect((e as InvalidHelloError).problems).toBe('reply: the arena runs past the end of the address space');
  });

  it('a second board on one transport names the transport', async () => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device);
    const first = await Board.open(host, { retransmitTimeoutMs: 20 });
    const e = await caught(Board.open(host, { retransmitTimeoutMs: 20 }));
    expect(e).toMatchObject({ name: 'TransportInUseError', transport: 'in-memory host end' });
    expect(e.message).toBe(
      'in-memory host end already has a board open on it: keep the first Board (or close() it before opening again)',
    );
    await first.close();
  });

  it('a second board on a transport without a description calls it "this transport"', async () => {
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device);
    const bare = { readable: host.readable, writable: host.writable, close: () => host.close() };
    const first = await Board.open(bare, { retransmitTimeoutMs: 20 });
    const e = await caught(Board.open(bare, { retransmitTimeoutMs: 20 }));
    expect(e).toBeInstanceOf(TransportInUseError);
    expect(e.message).toMatch(/^this transport already has a board open on it/);
    await first.close();
  });
});

describe('errors of what a reset or recover() revoked, and of taking twice', () => {
  it("a revoked handle's error says what revoked it and what to do", () => {
    const byRecover = new RevokedError('this DmaBuffer', new DeviceResetError(1, 1, 'recover'));
    expect(byRecover).toBeInstanceOf(DeviceResetError);
    expect(byRecover).toMatchObject({ name: 'RevokedError', what: 'this DmaBuffer', evidence: 'recover' });
    expect(byRecover.message).toBe(
      'this DmaBuffer was revoked by board.recover(); take the peripheral or allocate the buffer again',
    );
    const bySession = new RevokedError('DMA1 channel 1', new DeviceResetError(1, 1, 'new-session'));
    expect(bySession.message).toBe(
      'DMA1 channel 1 was revoked when the session was reopened (the board stopped its DMA channels and reset ' +
        'USART1 for the new session); take the peripheral or allocate the buffer again',
    );
    const reset = new DeviceResetError(1, 2, 'boot-event');
    const byReset = new RevokedError('Serial1', reset);
    expect(byReset.message).toBe(
      `Serial1 was issued before the board reset and no longer exists on it (${reset.message}); create it ` +
        'again after reconnecting',
    );
  });

  it('taking a peripheral twice names it and says to keep the first', async () => {
    const { board } = await openBoardOnFake();
    board.claim('DMA1 channel 1');
    const e = await caught(() => board.claim('DMA1 channel 1'));
    expect(e).toBeInstanceOf(AlreadyTakenError);
    expect(e).toMatchObject({ name: 'AlreadyTakenError', resource: 'DMA1 channel 1' });
    expect(e.message).toBe(
      'DMA1 channel 1 was already taken from this board: keep the first object and pass it where it is needed',
    );
    await board.close();
  });

  it('what is refused while recover() or reconnect() runs says which and to await it', () => {
    expect(new BoardRecoveringError('allocate')).toMatchObject({
      name: 'BoardRecoveringError',
      what: 'allocate',
      message: 'cannot allocate while board.recover() runs: await it first',
    });
    expect(new BoardRecoveringError('allocate', 'board.reconnect()').message).toBe(
      'cannot allocate while board.reconnect() runs: await it first',
    );
  });

  it('a link rate that cannot be had names the rate and why', () => {
    expect(new LinkRateError(3_000_000, 'the board offers 115200 baud', 'unavailable')).toMatchObject({
      name: 'LinkRateError',
      baud: 3_000_000,
      reason: 'the board offers 115200 baud',
      kind: 'unavailable',
      message: 'the host link cannot run at 3000000 baud: the board offers 115200 baud',
    });
  });
});

describe('errors of buffers and of the ledger', () => {
  it('each names the object, what holds it, and what to use instead', () => {
    expect(new MovedError('this DmaBuffer', 'serial.write()', 'use the buffer it hands back')).toMatchObject({
      name: 'MovedError',
      message: 'this DmaBuffer was moved by serial.write(); use the buffer it hands back',
    });
    expect(new BufferBusyError('serial.read()')).toMatchObject({
      name: 'BufferBusyError',
      ownedBy: 'serial.read()',
      message:
        "this DmaBuffer's memory is owned by the Transfer that serial.read() started; wait for it or stop it, " +
        'then use the buffer it hands back',
    });
    expect(new BufferFreedError('it was freed')).toMatchObject({
      name: 'BufferFreedError',
      message: 'this DmaBuffer is no longer valid: it was freed; allocate a new one with board.alloc()',
    });
    expect(new ForeignBufferError('board A', 'board B')).toMatchObject({
      name: 'ForeignBufferError',
      message:
        'this DmaBuffer was allocated on board A, but the transfer runs on board B: allocate the buffer with ' +
        'the same board the serial port was taken from',
    });
    expect(new LedgerError('x').name).toBe('LedgerError');
    const held = [{ address: 0x2000_4000, length: 16, state: 'owned', holder: 'a DmaBuffer' }];
    expect(new RawWriteRefusedError(0x2000_4004, 2, held)).toMatchObject({
      name: 'RawWriteRefusedError',
      message:
        'board.raw.writeMemory of 2 bytes at 0x20004004 refused: it overlaps 16 bytes at 0x20004000 that are ' +
        'owned (a DmaBuffer); write through the DmaBuffer that owns the memory, or to free arena memory',
    });
    expect(new RawWriteRefusedError(1, 2, [{ address: 0, length: 4, state: 'in doubt' }]).message).toBe(
      'board.raw.writeMemory of 2 bytes at 0x1 refused: it overlaps 4 bytes at 0x0 that are in doubt; write ' +
        'through the DmaBuffer that owns the memory, or to free arena memory',
    );
  });
});
