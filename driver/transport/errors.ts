import { DriverError } from '../driver-error.ts';

export { DriverError };

/** A transport was used after it closed, or its far end went away. */
export class TransportClosedError extends DriverError {
  override name = 'TransportClosedError';
}
