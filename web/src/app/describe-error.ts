/**
 * Errors in the words of a console user: what happened and what to do,
 * without API names (the driver's class stays available as a detail for
 * bug reports). A reset the console recovered from is no error at all.
 */
import { AlreadyTakenError, ArenaExhaustedError, OutOfArenaError } from '../../../driver/board/index.ts';
import {
  DeviceResetError,
  LinkClosedError,
  LinkTimeoutError,
  OverrunError,
  SerialError,
  TransferInDoubtError,
  UnsupportedProtocolError,
  WrongChipError,
} from '../../../driver/index.ts';
import { NoDeviceChosenError } from '../transports/errors.ts';
import { errorMessage, errorName } from '../ui/format.ts';
import type { ShownError } from '../ui/inline-error.ts';
import { FLASH_STEPS_ID } from '../ui/onboarding-panel.ts';
import { ReceptionOverrunError } from './serial-actions.ts';

export type Described = { kind: 'error'; shown: ShownError } | { kind: 'info'; message: string };

const FLASH_HELP = { href: `#${FLASH_STEPS_ID}`, label: 'How to flash the bridge firmware' };

export function describeError(error: unknown, context: string): Described {
  // A plain Error's class says nothing; the driver's typed ones help a bug report.
  const technical = errorName(error) === 'Error' ? undefined : errorName(error);
  const shown = (text: string, help?: ShownError['help']): Described => ({
    kind: 'error',
    shown: { context, text, technical, help },
  });
  if (error instanceof DeviceResetError) {
    return {
      kind: 'info',
      message: `The board reset; the console reconnected and the ${operationName(context)} was abandoned.`,
    };
  }
  if (error instanceof NoDeviceChosenError) {
    return { kind: 'info', message: 'No port was chosen; nothing was connected.' };
  }
  if (error instanceof LinkTimeoutError) {
    if (context === 'Connect' || error.command === 'HELLO') {
      return shown(
        'No bridge firmware answered on this port. Flash the bridge firmware onto the Nucleo, unplug and replug it, then connect again.',
        FLASH_HELP,
      );
    }
    return shown('The board stopped answering. Check the USB cable, then disconnect and connect again.');
  }
  if (error instanceof WrongChipError || error instanceof UnsupportedProtocolError) {
    return shown(`${capitalise(errorMessage(error))}.`, FLASH_HELP);
  }
  if (error instanceof LinkClosedError) {
    return shown(`The connection to the board closed (${errorMessage(error)}). Connect again.`);
  }
  if (error instanceof OverrunError) {
    return shown(
      'The circular monitor fell behind and received data was overwritten: use a larger ring size or a lower baud rate.',
    );
  }
  if (error instanceof ReceptionOverrunError) {
    return shown(
      `The circular monitor fell behind: ${error.lost} received bytes were overwritten before they were read: use a larger ring size or a lower baud rate.`,
    );
  }
  if (error instanceof SerialError) {
    const kinds = error.kinds.join(' and ');
    const overrunOnly = error.kinds.every((k) => k === 'overrun');
    return shown(
      `USART1 received a character with a ${kinds} error. ` +
        (overrunOnly
          ? 'Bytes came faster than they were taken: read with DMA, or lower the baud rate.'
          : 'Check that both ends use the same baud rate, data bits, parity and stop bits, and the wiring.'),
    );
  }
  if (error instanceof TransferInDoubtError) {
    return shown(
      'The board did not confirm the transfer. Disconnect and connect again to start over safely.',
    );
  }
  if (error instanceof OutOfArenaError) {
    return shown("That does not fit in the board's DMA memory: use fewer bytes.");
  }
  if (error instanceof ArenaExhaustedError) {
    return shown(
      `The board's DMA memory has no free block of ${error.requested} bytes while the other transfer holds its buffer (largest free: ${error.largestFree} bytes): use fewer bytes or stop the other transfer.`,
    );
  }
  if (error instanceof AlreadyTakenError) {
    return shown('USART1 is already in use by this console. Disconnect and connect again.');
  }
  return shown(`${capitalise(errorMessage(error))}${/[.!?]$/.test(errorMessage(error)) ? '' : '.'}`);
}

export function operationName(context: string): string {
  const c = context.toLowerCase();
  if (c.startsWith('send')) return 'send';
  if (c.includes('monitor') || c.includes('listen')) return 'reception';
  if (c.startsWith('read')) return 'read';
  return 'operation';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
