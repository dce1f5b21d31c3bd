/**
 * The safe API's errors as the user reads them: each message names what
 * happened and what to do next, and its fields carry the facts it names.
 */
import { describe, expect, it } from 'vitest';
import { DriverError } from '../driver-error.ts';
import {
  AlignmentError,
  ChannelBusyError,
  DmaTransferError,
  OverrunError,
  SERIAL_ERROR_FLAGS,
  SerialError,
  SerialHalfConstructionError,
  StreamAbortedError,
  StreamClosedError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';

const PE = 1 << 0;
const FE = 1 << 1;
const NE = 1 << 2;
const ORE = 1 << 3;

/** A recovered pair as an error carries it (the values are not looked at). */
const recovered = { buffer: {} as never, serial: 'serial' };

describe('ChannelBusyError', () => {
  it('names the channel and the two ways out, and split() for full duplex', () => {
    const e = new ChannelBusyError(2);
    expect(e).toBeInstanceOf(DriverError);
    expect(e.name).toBe('ChannelBusyError');
    expect(e.channel).toBe(2);
    expect(e.message).toBe(
      'DMA1 channel 2 is still running a transfer: wait for it or stop it first ' +
        '(each serial side has one channel; split() the serial for a transmit and a receive at once)',
    );
  });
});

describe('DmaTransferError', () => {
  it('says how far the channel got and that it is usable again', () => {
    const e = new DmaTransferError(1, 7);
    expect(e.name).toBe('DmaTransferError');
    expect({ channel: e.channel, transferred: e.transferred, recovered: e.recovered }).toEqual({
      channel: 1,
      transferred: 7,
      recovered: undefined,
    });
    expect(e.message).toBe(
      'DMA1 channel 1 stopped with a transfer error (TEIF) after 7 item(s); the channel is usable again',
    );
  });

  it('with owners to give back, says where they are', () => {
    const e = new DmaTransferError(2, 0, recovered);
    expect(e.recovered).toBe(recovered);
    expect(e.message).toBe(
      'DMA1 channel 2 stopped with a transfer error (TEIF) after 0 item(s); the channel is usable again: ' +
        'take the buffer and serial from error.recovered',
    );
  });
});

describe('SerialError', () => {
  it('the reception error flags are the low four ISR bits', () => {
    expect(SERIAL_ERROR_FLAGS).toBe(PE | FE | NE | ORE);
  });

  it('an overrun says bytes came too fast', () => {
    const e = new SerialError(ORE);
    expect(e.name).toBe('SerialError');
    expect(e.kinds).toEqual(['overrun']);
    expect(e.isrFlags).toBe(ORE);
    expect(e.recovered).toBeUndefined();
    expect(e.transferred).toBeUndefined();
    expect(e.message).toBe(
      'USART1 reception error: overrun. Bytes arrived faster than they were read: read more often or use DMA reception. ',
    );
  });

  it('a line error points at the two ends’ settings', () => {
    for (const [flags, kind] of [
      [FE, 'framing'],
      [NE, 'noise'],
      [PE, 'parity'],
    ] as const) {
      const e = new SerialError(flags);
      expect(e.kinds).toEqual([kind]);
      expect(e.message).toBe(
        `USART1 reception error: ${kind}. Check that both ends use the same baud rate, frame format and wiring.`,
      );
    }
  });

  it('names every kind at once, in a fixed order, with both hints and the recovered owners', () => {
    const e = new SerialError(PE | FE | NE | ORE, recovered, 3);
    expect(e.kinds).toEqual(['overrun', 'framing', 'noise', 'parity']);
    expect(e.recovered).toBe(recovered);
    expect(e.transferred).toBe(3);
    expect(e.message).toBe(
      'USART1 reception error: overrun, framing, noise, parity. ' +
        'Bytes arrived faster than they were read: read more often or use DMA reception. ' +
        'Check that both ends use the same baud rate, frame format and wiring. ' +
        'The transfer was stopped: take the buffer and serial from error.recovered.',
    );
  });

  it('bits other than the error flags name no kind', () => {
    expect(new SerialError(1 << 4).kinds).toEqual([]);
  });
});

describe('OverrunError', () => {
  it('counts the halves produced and read', () => {
    const e = new OverrunError(5, 2);
    expect(e.name).toBe('OverrunError');
    expect({ produced: e.halvesProduced, consumed: e.halvesConsumed }).toEqual({ produced: 5, consumed: 2 });
    expect(e.reason).toBe('the DMA filled 5 halves but only 2 were read, so data was overwritten');
    expect(e.message).toBe(
      'circular reception overran: the DMA filled 5 halves but only 2 were read, so data was overwritten; ' +
        'read faster, use a larger buffer, or lower the baud rate',
    );
  });

  it('takes another reason', () => {
    expect(new OverrunError(1, 1, 'the copy was overwritten').message).toBe(
      'circular reception overran: the copy was overwritten; read faster, use a larger buffer, or lower the baud rate',
    );
  });
});

describe('TransferInDoubtError', () => {
  it('names the call, the cause and board.recover()', () => {
    const cause = new Error('the link timed out');
    const e = new TransferInDoubtError('writeAll()', cause);
    expect(e.name).toBe('TransferInDoubtError');
    expect(e.by).toBe('writeAll()');
    expect(e.cause).toBe(cause);
    expect(e.message).toBe(
      'whether writeAll() started is unknown: the link timed out. ' +
        'Its buffer stays reserved and its serial moved, since the DMA may be using them; call ' +
        'board.recover() (or board.reconnect()) to stop every channel and start over',
    );
  });

  it('a cause that is not an Error is quoted as a string', () => {
    expect(new TransferInDoubtError('readExact()', 'gone').message).toMatch(
      /^whether readExact\(\) started is unknown: gone\. /,
    );
  });
});

describe('the stream writer and wait() errors', () => {
  it('StreamClosedError and StreamAbortedError say which serial to use', () => {
    const closed = new StreamClosedError();
    expect(closed.name).toBe('StreamClosedError');
    expect(closed.message).toBe(
      'this StreamWriter is closed: write() and close() after close() are not allowed; use the serial close() returned',
    );
    const aborted = new StreamAbortedError();
    expect(aborted.name).toBe('StreamAbortedError');
    expect(aborted.message).toBe(
      'this StreamWriter was stopped by abort(); use the serial that abort() returned',
    );
  });

  it('TransferTimeoutError and TransferAbortedError say the transfer goes on', () => {
    const timeout = new TransferTimeoutError(250);
    expect(timeout.name).toBe('TransferTimeoutError');
    expect(timeout.timeoutMs).toBe(250);
    expect(timeout.message).toBe(
      'the transfer did not finish within 250 ms; it is still running: wait() again or stop() it',
    );
    const aborted = new TransferAbortedError('why');
    expect(aborted.name).toBe('TransferAbortedError');
    expect(aborted.reason).toBe('why');
    expect(aborted.message).toBe(
      'waiting for the transfer was aborted; the transfer is still running: wait() again or stop() it',
    );
  });

  it('AlignmentError and SerialHalfConstructionError carry their names', () => {
    expect(new AlignmentError('x').name).toBe('AlignmentError');
    expect(new SerialHalfConstructionError('x').name).toBe('SerialHalfConstructionError');
  });
});
