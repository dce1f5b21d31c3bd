/**
 * The demo: the Embedonomicon's DMA chapter as a guided walk on a board,
 * the virtual Nucleo-G071RB in this process by default.
 *
 *   npm run demo
 *   npm run demo -- --port /dev/ttyACM0 [--loopback]
 *
 * Exit status 0 when every step ran (or was skipped for a stated reason),
 * 1 with one line on stderr when one failed.
 */
import { parseArgs } from 'node:util';
import { runDemo } from './demo/run.ts';

const USAGE = `usage: npm run demo -- [--port PATH|tcp://host:port] [--loopback] [--firmware ELF]

The DMA chapter step by step: HELLO, writeAll, readExact, moved owners,
stop(), circular reception. Without --port, on a virtual Nucleo-G071RB
running the real bridge firmware in this process.

  --port PATH   a real board's ST-LINK port (dma-bridge list shows it), or tcp://host:port
  --loopback    the board has a jumper from PC4 (D1) to PC5 (D0): the reading steps use it
  --firmware    the ELF for the virtual board (default the checkout's firmware-bridge/build/bridge.elf,
                or the one the package ships)`;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        loopback: { type: 'boolean' },
        firmware: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}; see --help\n`);
    process.exit(2);
  }
}

const options = parse(process.argv.slice(2));
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const code = await runDemo(
  {
    ...(options.port !== undefined && { port: options.port }),
    ...(options.firmware !== undefined && { firmware: options.firmware }),
    loopback: options.loopback === true,
  },
  {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
);
// Leave even if a serial port is still being torn down.
process.stdout.write('', () => process.exit(code));
