/** Times and errors as the console shows them (bytes and numbers: format/bytes.ts). */

/** Milliseconds since the session started, as `12.345 s`, for log timestamps. */
export function formatElapsed(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(8, ' ')} s`;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The error's class name when it is one of ours (DriverError's subclasses set `name`). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}
