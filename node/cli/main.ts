/**
 * The dma-bridge command: parses the command line, runs one command, and
 * turns any failure into one line on stderr and an exit status.
 */
import { createRequire } from 'node:module';
import { commands } from './commands/index.ts';
import { EXIT_OK, exitCodeFor, oneLine } from './errors.ts';
import { type CliIo, PROGRAM, processIo } from './io.ts';
import { parseCommandLine } from './parse.ts';
import { commandUsage, usage } from './usage.ts';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCommandLine(argv, commands);
    switch (parsed.kind) {
      case 'help':
        io.out(parsed.command ? commandUsage(parsed.command) : usage(commands));
        return EXIT_OK;
      case 'version': {
        const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
        io.out(pkg.version);
        return EXIT_OK;
      }
      case 'run':
        return (await parsed.command.run(parsed.args, io)) ?? EXIT_OK;
    }
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${oneLine(error)}\n`);
    return exitCodeFor(error);
  }
}

async function main(): Promise<void> {
  const interrupt = new AbortController();
  const stop = (): void => {
    // A second Ctrl-C while cleaning up means "now".
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  // `dma-bridge list | head -1` closes stdout early: that is not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await runCli(process.argv.slice(2), processIo(interrupt.signal));
  // Let stdout drain into a pipe before leaving, then leave even if a
  // library still holds a handle (a serial port being torn down).
  process.stdout.write('', () => process.exit(code));
}

await main();
