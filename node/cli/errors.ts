/**
 * The CLI's kinds of failure and their exit codes: the command line was
 * wrong (2, as most Unix tools), the command failed while running (1), or
 * it was interrupted (130).
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The command was stopped by Ctrl-C (or SIGTERM) after cleaning up; the
 * message says what was done by then. Exits 130, as a shell reports SIGINT.
 */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(
    message: string,
    /** What was done by then, for the JSON object --json prints. */
    readonly done: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A failure as --json reports it on stdout: one object, `interrupted` or with the `error`. */
export function failureJson(error: unknown): string {
  const summary = oneLine(error);
  if (error instanceof InterruptedError) return JSON.stringify({ interrupted: true, ...error.done, summary });
  return JSON.stringify({ error: summary, exitCode: exitCodeFor(error) });
}

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof InterruptedError) return EXIT_INTERRUPTED;
  return EXIT_RUNTIME;
}

/** One line, whatever the error: the message, with any line breaks folded. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, '; ').trim() || (error instanceof Error ? error.name : 'unknown error');
}

/**
 * The one way a command ends on Ctrl-C (or SIGTERM), once it has cleaned
 * up: the summary line on stderr, exit 130, and with --json one JSON
 * object on stdout marked `interrupted`, holding `done` (see runCli).
 * Returns the error to throw.
 */
export function interruption(summary: string, done: Record<string, unknown> = {}): InterruptedError {
  return new InterruptedError(`interrupted: ${summary}`, done);
}
