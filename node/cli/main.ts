/**
 * The dma-bridge command: parses the command line, runs one command, and
 * turns any failure into one line on stderr and an exit status.
 */
import { processIo } from './io.ts';
import { runCli } from './run-cli.ts';

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
