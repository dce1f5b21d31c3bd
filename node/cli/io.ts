/**
 * Where a command writes: results on stdout (text, or JSON with --json),
 * notes, progress and errors on stderr. Commands get this instead of the
 * process streams so they stay testable and cannot mix the two.
 */
import { once } from 'node:events';

export interface CliIo {
  /** One line of results on stdout. */
  out(line: string): void;
  /** One line of notes on stderr. */
  note(line: string): void;
  /** Raw bytes on stdout (read, monitor). */
  outBytes(bytes: Uint8Array): Promise<void>;
  /** Raw text on stderr, for the progress bar's carriage returns. */
  errRaw(text: string): void;
  readonly stderrIsTty: boolean;
  readonly stderrColumns: number;
  /** Ends the run once the command asks to stop (Ctrl-C, SIGTERM). */
  readonly interrupted: AbortSignal;
}

export const PROGRAM = 'dma-bridge';

export function processIo(interrupted: AbortSignal): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    note: (line) => process.stderr.write(`${PROGRAM}: ${line}\n`),
    outBytes: async (bytes) => {
      if (!process.stdout.write(bytes)) await once(process.stdout, 'drain');
    },
    errRaw: (text) => process.stderr.write(text),
    stderrIsTty: process.stderr.isTTY === true,
    // A terminal that reports no size (0) gets the classic 80 columns.
    stderrColumns: process.stderr.columns || 80,
    interrupted,
  };
}
