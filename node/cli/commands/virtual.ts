/**
 * `dma-bridge virtual`: runs a virtual board and serves it like a real one,
 * on a TCP port and a pseudo-terminal, until interrupted.
 */
import { z } from 'zod';
import { type GdbServer, serveGdb } from '../../../emulator/debug/serve-gdb.ts';
import type { Trace } from '../../../emulator/debug/trace/trace-board.ts';
import { traceBoardToFile } from '../../../emulator/debug/trace/trace-file.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../virtual/host-port-server.ts';
import { DEFAULT_FIRMWARE, displayPath, loadVirtualBoard } from '../../virtual/load-board.ts';
import { VirtualServer } from '../../virtual-server.ts';
import { defineCommand } from '../command.ts';
import { interruption } from '../errors.ts';
import { table } from '../layout.ts';
import { duration, tcpPortNumber, wholeNumber } from '../options.ts';

const schema = z
  .object({
    'tcp-port': tcpPortNumber.default(0),
    'no-pty': z.boolean().default(false),
    'pty-link': z.string().min(1).optional(),
    'peer-tcp': tcpPortNumber.optional(),
    loopback: z.boolean().default(false),
    'idle-timeout': duration().default(DEFAULT_IDLE_TIMEOUT_MS),
    firmware: z.string().min(1).optional(),
    'sram-seed': wholeNumber(0, 0xffff_ffff, 'an SRAM seed').optional(),
    bootloader: z.boolean().default(false),
    json: z.boolean().default(false),
    gdb: tcpPortNumber.optional(),
    'gdb-halt': z.boolean().default(false),
    trace: z.string().min(1).optional(),
    'trace-signals': z.string().min(1).optional(),
  })
  .refine((args) => !(args.loopback && args['peer-tcp'] !== undefined), {
    message: 'with --loopback USART1 has no peer to serve; drop --loopback or --peer-tcp',
    path: ['peer-tcp'],
  })
  .refine((args) => !(args['gdb-halt'] && args.gdb === undefined), {
    message: '--gdb-halt holds the board for GDB: give --gdb PORT too',
    path: ['gdb-halt'],
  })
  .refine((args) => !(args['no-pty'] && args['pty-link'] !== undefined), {
    message: '--pty-link names the pty that --no-pty turns off; drop one of them',
    path: ['pty-link'],
  });

export const virtualCommand = defineCommand({
  name: 'virtual',
  summary: 'run a virtual board and serve it on a TCP port and a pty, until Ctrl-C',
  synopsis:
    '[--tcp-port PORT] [--pty-link PATH | --no-pty] [--peer-tcp PORT | --loopback] [--idle-timeout D] [--firmware ELF] [--json]\n' +
    '        [--gdb PORT [--gdb-halt]] [--trace FILE.vcd [--trace-signals LIST]] [--sram-seed N] [--bootloader]',
  details: [
    '--tcp-port PORT   the board port on 127.0.0.1 (default: any free port); one client at a time',
    '--pty-link PATH   also name the pty by this symbolic link, stable across sessions',
    '--no-pty          serve TCP only (without socat installed, TCP only is served anyway, said on stderr)',
    "--peer-tcp PORT   carry USART1's bytes both ways on this TCP port (default: print them on stderr)",
    '--loopback        wire USART1 TX back to its RX',
    `--idle-timeout D  drop a TCP client that sends no whole frame for D (default ${DEFAULT_IDLE_TIMEOUT_MS / 1000}s), so it cannot hold the board`,
    '--firmware ELF    the firmware to run: an ELF, or a raw image (.bin) at the start of flash;',
    '                  default the bridge.elf the package ships (a checkout: its build)',
    '--json            the addresses as one JSON object on stdout; on Ctrl-C, one more, marked interrupted',
    '--gdb PORT        serve a GDB stub on 127.0.0.1:PORT (gdb-multiarch: target remote :PORT)',
    '--gdb-halt        hold the board at the reset vector until GDB says continue',
    '--trace FILE.vcd  record USART lines, DMA, NVIC, LD4 and IWDG reloads in virtual time',
    "--trace-signals   comma-separated patterns of the signals to record, e.g. 'usart1.*,dma.ch1.*'",
    '--sram-seed N     power up SRAM (and so the boot epoch) as with seed N (default: random, printed)',
    "--bootloader      start in ST's system bootloader, as a G0 after its first flash, until a power cycle",
    'Ctrl-C stops serving: the summary on stderr, exit 130.',
  ],
  options: {
    'tcp-port': { type: 'string' },
    'no-pty': { type: 'boolean' },
    'pty-link': { type: 'string' },
    'peer-tcp': { type: 'string' },
    'idle-timeout': { type: 'string' },
    loopback: { type: 'boolean' },
    firmware: { type: 'string' },
    'sram-seed': { type: 'string' },
    bootloader: { type: 'boolean' },
    json: { type: 'boolean' },
    gdb: { type: 'string' },
    'gdb-halt': { type: 'boolean' },
    trace: { type: 'string' },
    'trace-signals': { type: 'string' },
  },
  allowPositionals: false,
  schema,
  async run(args, io) {
    // Served to other programs, whose deadlines are in real time: keep to the wall clock.
    let trace: Trace | undefined;
    const board = await loadVirtualBoard({
      loopback: args.loopback,
      // From power-on: the trace starts before the first instruction.
      beforeStart: (b) => {
        if (args.trace === undefined) return;
        trace = traceBoardToFile(b, args.trace, {
          ...(args['trace-signals'] !== undefined && { signals: args['trace-signals'].split(',') }),
        });
      },
      pace: 'realtime',
      onStrictReport: (line) => io.note(`strict: ${line}`),
      ...(args.firmware !== undefined && { firmware: args.firmware }),
      ...(args['sram-seed'] !== undefined && { sramSeed: args['sram-seed'] }),
      bootloader: args.bootloader,
    });
    let server: VirtualServer | undefined;
    let gdb: GdbServer | undefined;
    try {
      if (args.gdb !== undefined)
        gdb = await serveGdb(board, args.gdb, {
          log: (line) => io.note(line),
          haltAtReset: args['gdb-halt'],
        });
      server = await VirtualServer.start(board, {
        tcpPort: args['tcp-port'],
        // The pty when socat is there; TCP alone (said on stderr) when it is not.
        pty: args['no-pty'] ? false : args['pty-link'] !== undefined ? true : 'if-available',
        idleTimeoutMs: args['idle-timeout'],
        printPeer: !args.loopback,
        log: (line) => io.note(line),
        ...(args['pty-link'] !== undefined && { ptyLink: args['pty-link'] }),
        ...(args['peer-tcp'] !== undefined && { peerTcpPort: args['peer-tcp'] }),
      });
      const { tcp, pty, ptyLink, peerTcp } = server.addresses;
      const usart1 = args.loopback
        ? 'loopback (TX wired to RX)'
        : (peerTcp ?? 'virtual peer; what it receives is printed on stderr');
      if (args.json) {
        io.out(
          JSON.stringify({
            tcp,
            pty: pty ?? null,
            ptyLink: ptyLink ?? null,
            peerTcp: peerTcp ?? null,
            usart1,
            gdb: gdb ? `127.0.0.1:${gdb.port}` : null,
            trace: args.trace ?? null,
            sramSeed: board.sramSeed,
          }),
        );
      } else {
        const firmware = displayPath(args.firmware ?? DEFAULT_FIRMWARE);
        io.out(`virtual Nucleo-G071RB running ${firmware}`);
        const rows: [string, string][] = [['port', tcp]];
        if (pty) rows.push(['pty', ptyLink ? `${pty} (link ${ptyLink})` : pty]);
        rows.push(['usart1', usart1]);
        if (gdb) rows.push(['gdb', `127.0.0.1:${gdb.port}`]);
        if (args.trace !== undefined) rows.push(['trace', args.trace]);
        rows.push(['sram seed', `${board.sramSeed} (--sram-seed ${board.sramSeed} powers up the same way)`]);
        if (args.bootloader) rows.push(['boot', "ST's system bootloader, until a power cycle"]);
        for (const line of table(rows)) io.out(line);
      }
      io.note(`try: dma-bridge info --port ${tcp}; stop with Ctrl-C`);
      await new Promise<void>((resolve) => {
        if (io.interrupted.aborted) resolve();
        else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      await gdb?.close();
      trace?.stop();
      await server?.close();
      await board.dispose();
    }
    // Serving ends only by Ctrl-C (or SIGTERM): the one rule for interrupted commands.
    const sessions = server?.sessionCount ?? 0;
    throw interruption(`stopped serving the virtual board after ${sessions} client sessions`, {
      sessions,
    });
  },
});
