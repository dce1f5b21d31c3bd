/**
 * The root of the driver's error classes, so an application can tell the
 * driver's typed failures from everything else with one `instanceof`.
 */
export class DriverError extends Error {
  override name = 'DriverError';
}

/** A transport was used after it closed, or its far end went away. */
export class TransportClosedError extends DriverError {
  override name = 'TransportClosedError';
}
