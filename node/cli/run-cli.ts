/**
 * One run of the dma-bridge command line: parses it, runs the command, and
 * turns any failure into one line on stderr and an exit status. Separate
 * from main.ts so tests can run commands in process.
 */

import { packageVersion } from '../package/package-root.ts';
import { commands } from './commands/index.ts';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, failureJson, oneLine } from './errors.ts';
import type { CliIo } from './io.ts';
import { parseCommandLine } from './parse.ts';
import { commandUsage, usage } from './usage.ts';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  try {
    const parsed = parseCommandLine(argv, commands);
    json = parsed.kind === 'run' && (parsed.args as { json?: unknown }).json === true;
    switch (parsed.kind) {
      case 'help':
        io.out(parsed.command ? commandUsage(parsed.command) : usage(commands));
        return EXIT_OK;
      case 'no-command':
        // Asked for nothing: the usage on stderr, and a status that says the command line was wrong.
        for (const line of usage(commands).split('\n')) io.note(line);
        return EXIT_USAGE;
      case 'version':
        io.out(packageVersion());
        return EXIT_OK;
      case 'run':
        return (await parsed.command.run(parsed.args, io)) ?? EXIT_OK;
    }
  } catch (error) {
    // With --json, a failed or interrupted command still gives one JSON object (a usage error has no args).
    if (json) io.out(failureJson(error));
    io.note(oneLine(error));
    return exitCodeFor(error);
  }
}
