/**
 * What can go wrong between the host and the board, as classes a caller
 * can branch on. Each message says what happened and what to do next.
 */

import { DriverError } from '../driver-error.ts';

/** The transport closed or failed: every pending request failed with this. */
export class LinkClosedError extends DriverError {
  override name = 'LinkClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * No reply after every retransmission. Whether the request ran on the
 * board is unknown; the session is abandoned, so call `reopen()` (or open a
 * new board) before going on.
 */
export class LinkTimeoutError extends DriverError {
  override name = 'LinkTimeoutError';
  constructor(
    message: string,
    readonly command: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

/**
 * How the host learned of a reset (PROTOCOL.md §8). `recover`: not a reset
 * of the chip, but board.recover() resetting what the bridge exposes;
 * `new-session`: a new session, which resets the same (PROTOCOL.md §4).
 */
export type ResetEvidence = 'boot-event' | 'no-session' | 'hello-epoch' | 'recover' | 'new-session';

/**
 * The board reset: every request in flight is lost, DMA and USART1 are back
 * at their reset state, every arena buffer and handle issued before it is
 * void. Reopen the session and set up again.
 */
export class DeviceResetError extends DriverError {
  override name = 'DeviceResetError';
  constructor(
    readonly previousEpoch: number | undefined,
    readonly bootEpoch: number | undefined,
    readonly evidence: ResetEvidence,
  ) {
    const epochs =
      previousEpoch === undefined
        ? ''
        : ` (boot epoch ${hex(previousEpoch)} → ${bootEpoch === undefined ? 'unknown' : hex(bootEpoch)})`;
    super(
      evidence === 'recover' || evidence === 'new-session'
        ? `${evidence === 'recover' ? 'board.recover()' : 'a new session'} stopped the DMA channels and reset ` +
            'USART1: every buffer, transfer and peripheral taken before it is void; take the peripherals and ' +
            'allocate buffers again'
        : `the board reset${epochs}, learned from ${describe(evidence)}: requests in flight were lost and ` +
            'every buffer and handle from before is void; reopen the session (board.reconnect(): memory lent to ' +
            'transfers stays reserved until the new session confirms every channel off) and configure again',
    );
  }
}

/** The board answered in a way the protocol does not allow; a bug on one side. */
export class LinkProtocolError extends DriverError {
  override name = 'LinkProtocolError';
}

/**
 * A request made in a session that ended before it was answered (the
 * session was reopened, or the board reset while one was being opened). A
 * request is never sent in a session other than the one it was made in:
 * when `sent` is false it never reached the board; when true it may have
 * run in its own session, whose end stopped whatever it started. Re-read
 * the state it depends on and make it again in the new session.
 */
export class SessionEndedError extends DriverError {
  override name = 'SessionEndedError';
  constructor(
    readonly command: string,
    readonly sent: boolean,
    why: string,
  ) {
    super(
      `${command} was made in a session that ended ${sent ? 'before it was answered' : 'before it was sent'} ` +
        `(${why}): ${sent ? 'whether it ran is unknown, and' : 'it never reached the board, and'} a request ` +
        'is never sent in another session; re-read what it depends on and make it again',
    );
  }
}

/** A request the link will not send (e.g. HELLO through `request`, or after `close`). */
export class LinkUsageError extends DriverError {
  override name = 'LinkUsageError';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** How the host learned of a reset of the chip (`recover` and `new-session` are worded on their own). */
function describe(e: Exclude<ResetEvidence, 'recover' | 'new-session'>): string {
  switch (e) {
    case 'boot-event':
      return 'its BOOT event';
    case 'no-session':
      return 'a NO_SESSION refusal';
    case 'hello-epoch':
      return 'a changed epoch in its HELLO reply';
  }
}
