/**
 * Why a browser transport could not open. Each message says what the user
 * can do about it, because the console shows it as is.
 */
import { DriverError } from '../../../driver/transport/errors.ts';

/** The browser lacks the API (WebSerial, WebUSB, module workers). */
export class TransportUnsupportedError extends DriverError {
  override name = 'TransportUnsupportedError';
}

/** The user closed the port chooser without picking a device. */
export class NoDeviceChosenError extends DriverError {
  override name = 'NoDeviceChosenError';
}

/** The device was found but could not be opened or claimed. */
export class TransportOpenError extends DriverError {
  override name = 'TransportOpenError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
