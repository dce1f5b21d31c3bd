/**
 * USART1's line settings beyond the baud rate the driver sets: word length,
 * parity and stop bits, written while the USART is disabled (RM0444
 * USART_CR1: M1, M0, PCE and PS, and USART_CR2: STOP, are writable only
 * with UE = 0). The word length counts the parity bit, so 8 data bits
 * with parity is a 9-bit word and 7 without is a 7-bit word.
 */
import type { Board } from '../../../driver/board/index.ts';
import { fieldMask } from '../../../driver/chip/decode.ts';

export type Parity = 'none' | 'even' | 'odd';

export interface SerialSettings {
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: Parity;
  readonly stopBits: 1 | 2;
}

export const DEFAULT_SERIAL_SETTINGS: SerialSettings = {
  baudRate: 115_200,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
};

/** Settings the console cannot use, with what to do instead. */
export class UnsupportedSettingsError extends Error {
  override name = 'UnsupportedSettingsError';
}

/** Checks the settings against the board's USART1 clock; returns BRR, CR1's frame bits and CR2's STOP. */
export function registerValues(
  board: Pick<Board, 'chip' | 'hello'>,
  s: SerialSettings,
): { brr: number; cr1Frame: number; cr2Stop: number } {
  const clock = board.hello.usart1ClockHz;
  if (!Number.isInteger(s.baudRate) || s.baudRate <= 0) {
    throw new UnsupportedSettingsError('the baud rate must be a whole number of bits per second');
  }
  const brr = Math.round(clock / s.baudRate);
  if (brr < 16 || brr > 0xffff) {
    const low = Math.ceil(clock / 0xffff);
    const high = Math.floor(clock / 16);
    throw new UnsupportedSettingsError(
      `${s.baudRate} Bd is out of USART1's reach: from a ${clock / 1e6} MHz clock it runs from ${low} to ${high} Bd`,
    );
  }
  if (s.dataBits !== 7 && s.dataBits !== 8) {
    throw new UnsupportedSettingsError('USART1 is used here with 7 or 8 data bits');
  }
  const cr1 = board.chip.usart1.cr1;
  // 7, 8 or 9 bits on the wire: M1:M0 = 10, 00, 01 (RM0444 USART_CR1.M1).
  const word = s.dataBits + (s.parity === 'none' ? 0 : 1);
  const m = word === 7 ? fieldMask(cr1, 'M1') : word === 9 ? fieldMask(cr1, 'M0') : 0;
  const parity =
    s.parity === 'none' ? 0 : fieldMask(cr1, 'PCE') | (s.parity === 'odd' ? fieldMask(cr1, 'PS') : 0);
  const cr2 = board.chip.usart1.cr2;
  const stopOffset = cr2.fields.find((f) => f.name === 'STOP')!.offset;
  // STOP: 00 = 1 bit, 10 = 2 bits.
  const cr2Stop = (s.stopBits === 2 ? 0b10 : 0b00) << stopOffset;
  return { brr, cr1Frame: m | parity, cr2Stop };
}

/**
 * Writes the settings to USART1 in one batch: disable, frame format and
 * rate, enable again with TE and RE (what Serial1.take() enables). Only
 * while no DMA uses USART1.
 */
export async function applySerialSettings(board: Board, s: SerialSettings): Promise<void> {
  const { brr, cr1Frame, cr2Stop } = registerValues(board, s);
  const u = board.chip.usart1;
  const enable = fieldMask(u.cr1, 'UE') | fieldMask(u.cr1, 'TE') | fieldMask(u.cr1, 'RE');
  const stopMask = 0b11 << u.cr2.fields.find((f) => f.name === 'STOP')!.offset;
  const result = await board.raw.batch((b) =>
    b
      .write(u.cr1.address, 0)
      .write(u.brr.address, brr)
      .maskedWrite(u.cr2.address, stopMask, cr2Stop)
      .write(u.cr1.address, cr1Frame | enable),
  );
  if (result.failure) throw result.failure.error;
}
