/**
 * The board's refusals as typed errors, plus the errors of opening a board
 * and of using what a reset revoked. Each carries the protocol status and
 * says what to change.
 */

import { DriverError } from '../driver-error.ts';
import { DeviceResetError } from '../link/errors.ts';
import {
  DMA_START_REFUSED_DESCRIPTIONS,
  type DmaStartRefusedReasonCode,
  describeDmaStartRefusedReason,
  PROTOCOL_VERSION,
  STATUS_DESCRIPTIONS,
  type StatusCode,
  statusName,
} from '../protocol/index.ts';

/** The board executed the request and refused it; nothing took effect. */
export class BoardRefusedError extends DriverError {
  override name = 'BoardRefusedError';
  constructor(
    readonly status: StatusCode,
    readonly command: string,
    message: string,
  ) {
    super(message);
  }

  get statusName(): string {
    return statusName(this.status);
  }
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

export class RegisterNotAllowedError extends BoardRefusedError {
  override name = 'RegisterNotAllowedError';
  constructor(
    command: string,
    readonly address: number,
    registerName: string | undefined,
  ) {
    super(
      0x0a,
      command,
      `${command} of ${registerName ?? hex(address)} refused: the bridge only allows 4-aligned accesses to ` +
        'DMA1 channels 1-2, DMAMUX1 C0CR/C1CR and USART1, never a write to a read-only register ' +
        '(DMA1_ISR, USART1_ISR, RDR) nor a read of a write-only one (DMA1_IFCR, USART1_ICR, RQR, TDR)',
    );
  }
}

export class ValueNotAllowedError extends BoardRefusedError {
  override name = 'ValueNotAllowedError';
  constructor(
    command: string,
    readonly address: number,
    registerName: string | undefined,
  ) {
    super(
      0x0b,
      command,
      `${command} to ${registerName ?? hex(address)} refused for its value: USART1 interrupt enables the ` +
        'bridge does not serve (RXNEIE, TXEIE, CMIE, RTOIE, ...) and DMA1_IFCR bits of channels other than ' +
        '1 and 2 are not allowed; see PROTOCOL.md §6',
    );
  }
}

export class OutOfArenaError extends BoardRefusedError {
  override name = 'OutOfArenaError';
  constructor(
    command: string,
    readonly address: number,
    readonly length: number,
    readonly arena: { base: number; size: number },
  ) {
    super(
      0x0c,
      command,
      `${command} of ${length} bytes at ${hex(address)} is outside the DMA arena ` +
        `[${hex(arena.base)}, ${hex(arena.base + arena.size)}) or empty: only arena memory is reachable`,
    );
  }
}

export class DmaStartRefusedError extends BoardRefusedError {
  override name = 'DmaStartRefusedError';
  readonly reasonDescription: string;
  constructor(
    command: string,
    readonly reason: number,
    readonly address: number | undefined,
  ) {
    const description = describeDmaStartRefusedReason(reason);
    super(0x0d, command, `the board refused to enable the DMA channel (reason ${reason}): ${description}`);
    this.reasonDescription = description;
  }

  static readonly reasons: Readonly<Record<DmaStartRefusedReasonCode, string>> =
    DMA_START_REFUSED_DESCRIPTIONS;
}

export class BusyError extends BoardRefusedError {
  override name = 'BusyError';
  constructor(command: string, target: string) {
    super(
      0x0e,
      command,
      `${command} on ${target} refused: a DMA channel is enabled and working there; stop the channel ` +
        '(clear CCR.EN) or wait for its transfer to complete first',
    );
  }
}

export class PollTimeoutError extends BoardRefusedError {
  override name = 'PollTimeoutError';
  constructor(
    command: string,
    readonly address: number,
    readonly lastValue: number,
  ) {
    super(
      0x0f,
      command,
      `POLL of ${hex(address)} did not match in time; last value ${hex(lastValue)}: raise timeoutUs or check ` +
        'that the condition can become true',
    );
  }
}

/** UNKNOWN_COMMAND, BAD_LENGTH and other statuses a correct driver never causes. */
export class ProtocolMismatchError extends BoardRefusedError {
  override name = 'ProtocolMismatchError';
  constructor(status: StatusCode, command: string) {
    super(
      status,
      command,
      `the board answered ${command} with ${statusName(status)} (${STATUS_DESCRIPTIONS[status]}): the ` +
        'driver and firmware disagree on the protocol; update the one that is older',
    );
  }
}

// ------------------------------------------------------------ opening

export class UnsupportedProtocolError extends DriverError {
  override name = 'UnsupportedProtocolError';
  constructor(readonly protocolVersion: number) {
    super(
      `the bridge speaks protocol version ${protocolVersion}, this driver speaks ${PROTOCOL_VERSION}: flash the matching firmware ` +
        'or use a matching driver',
    );
  }
}

export class WrongChipError extends DriverError {
  override name = 'WrongChipError';
  constructor(
    readonly devId: number,
    readonly expected: number,
    chipName: string,
  ) {
    super(
      `the board reports DEV_ID 0x${devId.toString(16)} but the chip description is ${chipName} ` +
        `(DEV_ID 0x${expected.toString(16)}): pass the description of the board you connected`,
    );
  }
}

export class InvalidHelloError extends DriverError {
  override name = 'InvalidHelloError';
  constructor(readonly problems: string) {
    super(
      `the board's HELLO reply does not make sense (${problems}): the firmware is broken or not the bridge`,
    );
  }
}

// ------------------------------------------------------------ handles

/**
 * A handle (a buffer, a channel, a transfer) issued before a board reset
 * was used after it. Is-a DeviceResetError, so one `instanceof` catches
 * both the failure of work in flight and the use of what it revoked.
 */
export class RevokedError extends DeviceResetError {
  override name = 'RevokedError';
  constructor(
    readonly what: string,
    readonly reset: DeviceResetError,
  ) {
    super(reset.previousEpoch, reset.bootEpoch, reset.evidence);
    this.message =
      reset.evidence === 'recover'
        ? `${what} was revoked by board.recover(); take the peripheral or allocate the buffer again`
        : reset.evidence === 'new-session'
          ? `${what} was revoked when the session was reopened (the board stopped its DMA channels and ` +
            'reset USART1 for the new session); take the peripheral or allocate the buffer again'
          : `${what} was issued before the board reset and no longer exists on it (${reset.message}); ` +
            'create it again after reconnecting';
  }
}

/** Something was tried on the board while board.recover() (or board.reconnect()) runs. */
export class BoardRecoveringError extends DriverError {
  override name = 'BoardRecoveringError';
  constructor(
    readonly what: string,
    during = 'board.recover()',
  ) {
    super(`cannot ${what} while ${during} runs: await it first`);
  }
}

/** Board.open() was called on a transport a board is already open on. */
export class TransportInUseError extends DriverError {
  override name = 'TransportInUseError';
  constructor(readonly transport: string) {
    super(
      `${transport} already has a board open on it: keep the first Board (or close() it before opening again)`,
    );
  }
}

/** A singleton (DMA1 channel 1, Serial1) was taken twice. */
export class AlreadyTakenError extends DriverError {
  override name = 'AlreadyTakenError';
  constructor(readonly resource: string) {
    super(
      `${resource} was already taken from this board: keep the first object and pass it where it is needed`,
    );
  }
}

/**
 * The host link could not run at the rate asked for: the board does not
 * offer it, the transport cannot change its rate, or the rate did not carry
 * a frame (then both ends are back at the boot rate).
 */
export class LinkRateError extends DriverError {
  override name = 'LinkRateError';
  constructor(
    readonly baud: number,
    readonly reason: string,
    /** 'unavailable': no end offers the rate (a wrong choice); 'failed': it was tried and did not work. */
    readonly kind: 'unavailable' | 'failed',
  ) {
    super(`the host link cannot run at ${baud} baud: ${reason}`);
  }
}
