/**
 * The link's errors as a user reads them: each class's name and its whole
 * message, which says what happened and what to do next.
 */
import { describe, expect, it } from 'vitest';
import { DriverError } from '../driver-error.ts';
import {
  DeviceResetError,
  LinkClosedError,
  LinkProtocolError,
  LinkTimeoutError,
  LinkUsageError,
  SessionEndedError,
} from './errors.ts';

const AFTER_CHIP_RESET =
  ': requests in flight were lost and every buffer and handle from before is void; reopen the session ' +
  '(board.reconnect(): memory lent to transfers stays reserved until the new session confirms every ' +
  'channel off) and configure again';

describe('The link errors', () => {
  it('are driver errors named after their class', () => {
    const cases: [Error, string][] = [
      [new LinkClosedError('x'), 'LinkClosedError'],
      [new LinkTimeoutError('x', 'ping', 1), 'LinkTimeoutError'],
      [new DeviceResetError(undefined, 1, 'boot-event'), 'DeviceResetError'],
      [new LinkProtocolError('x'), 'LinkProtocolError'],
      [new SessionEndedError('ping', false, 'x'), 'SessionEndedError'],
      [new LinkUsageError('x'), 'LinkUsageError'],
    ];
    for (const [error, name] of cases) {
      expect(error).toBeInstanceOf(DriverError);
      expect(error.name).toBe(name);
      expect(String(error).startsWith(`${name}: `)).toBe(true);
    }
  });

  it('LinkClosedError keeps its cause; LinkTimeoutError names the command and its attempts', () => {
    const cause = new Error('cable pulled');
    expect(new LinkClosedError('closed', { cause }).cause).toBe(cause);
    const timeout = new LinkTimeoutError('no reply', 'reg-read', 11);
    expect(timeout.message).toBe('no reply');
    expect(timeout.command).toBe('reg-read');
    expect(timeout.attempts).toBe(11);
  });

  it('DeviceResetError says how the reset was learned and which epochs it went between', () => {
    expect(new DeviceResetError(undefined, 0x1234, 'boot-event').message).toBe(
      `the board reset, learned from its BOOT event${AFTER_CHIP_RESET}`,
    );
    expect(new DeviceResetError(0x1234, 0xabcd_ef01, 'no-session').message).toBe(
      `the board reset (boot epoch 0x00001234 → 0xabcdef01), learned from a NO_SESSION refusal${AFTER_CHIP_RESET}`,
    );
    expect(new DeviceResetError(0xfedc_ba98, undefined, 'hello-epoch').message).toBe(
      `the board reset (boot epoch 0xfedcba98 → unknown), learned from a changed epoch in its HELLO reply${AFTER_CHIP_RESET}`,
    );
    const e = new DeviceResetError(1, 2, 'no-session');
    expect([e.previousEpoch, e.bootEpoch, e.evidence]).toEqual([1, 2, 'no-session']);
  });

  it('DeviceResetError for board.recover() and for a new session says what to set up again', () => {
    const after =
      ' stopped the DMA channels and reset USART1: every buffer, transfer and peripheral taken before it ' +
      'is void; take the peripherals and allocate buffers again';
    expect(new DeviceResetError(1, 1, 'recover').message).toBe(`board.recover()${after}`);
    expect(new DeviceResetError(undefined, 1, 'new-session').message).toBe(`a new session${after}`);
  });

  it('SessionEndedError says whether the request reached the board', () => {
    const unsent = new SessionEndedError('reg-write', false, 'the session was reopened');
    expect(unsent.message).toBe(
      'reg-write was made in a session that ended before it was sent (the session was reopened): it never ' +
        'reached the board, and a request is never sent in another session; re-read what it depends on and ' +
        'make it again',
    );
    expect([unsent.command, unsent.sent]).toEqual(['reg-write', false]);
    const sent = new SessionEndedError('mem-read', true, 'the session was reopened');
    expect(sent.message).toBe(
      'mem-read was made in a session that ended before it was answered (the session was reopened): whether ' +
        'it ran is unknown, and a request is never sent in another session; re-read what it depends on and ' +
        'make it again',
    );
    expect(sent.sent).toBe(true);
  });
});
