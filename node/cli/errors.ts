/**
 * The CLI's two kinds of failure and their exit codes: the command line was
 * wrong (2, as most Unix tools), or the command failed while running (1).
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
}

/** One line, whatever the error: the message, with any line breaks folded. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, '; ').trim() || (error instanceof Error ? error.name : 'unknown error');
}
