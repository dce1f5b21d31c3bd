/**
 * The root of the driver's error classes, so an application can tell the
 * driver's typed failures from everything else with one `instanceof`. It
 * lives below every layer, so each layer's errors can derive from it.
 */
export class DriverError extends Error {
  override name = 'DriverError';
}
