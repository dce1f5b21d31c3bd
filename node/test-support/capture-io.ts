/** A CliIo that keeps what a command writes, for running commands in process. */
import type { CliIo } from '../cli/io.ts';
import { PROGRAM } from '../cli/io.ts';
import { runCli } from '../cli/run-cli.ts';

export interface CapturedRun {
  readonly code: number;
  /** stdout as text: lines and raw bytes in the order written. */
  readonly stdout: string;
  /** stderr as the process would show it: notes prefixed with the program name. */
  readonly stderr: string;
}

export interface CaptureOptions {
  /** Called with each stderr note as it is written (to act when a command reaches a point). */
  readonly onNote?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export async function runCaptured(
  argv: readonly string[],
  options: CaptureOptions = {},
): Promise<CapturedRun> {
  const stdout: Buffer[] = [];
  let stderr = '';
  const io: CliIo = {
    out: (line) => stdout.push(Buffer.from(`${line}\n`)),
    note: (line) => {
      stderr += `${PROGRAM}: ${line}\n`;
      options.onNote?.(line);
    },
    outBytes: async (bytes) => {
      stdout.push(Buffer.from(bytes));
    },
    errRaw: (text) => {
      stderr += text;
    },
    stderrIsTty: false,
    stderrColumns: 80,
    interrupted: options.signal ?? new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, stdout: Buffer.concat(stdout).toString(), stderr };
}
