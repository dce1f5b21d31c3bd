/** The usage text, built from the command table so it cannot drift from it. */
import type { Command } from './command.ts';
import { PROGRAM } from './io.ts';

const BOARD_OPTIONS = [
  '--port, -p PATH     the board: a serial port (/dev/ttyACM0, COM5) or tcp://host:port (ser2net,',
  '                    dma-bridge virtual); without it, an in-process virtual board (said on stderr)',
  "--link-baud R       the host link's rate: max (default: the highest the board and the port take),",
  "                    boot (the board's boot rate, 115200) or a rate the board offers (dma-bridge info)",
  '--firmware ELF      firmware for the in-process virtual board: an ELF, or a raw image (.bin) at the',
  '                    start of flash; default the bridge.elf the package ships (a checkout: its build)',
  '--json              machine-readable output on stdout',
];

export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} <command> [options]`,
    '',
    'Memory-safe DMA on an STM32G071 (Nucleo-G071RB) through the bridge firmware.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'board options:',
    ...BOARD_OPTIONS.map((line) => `  ${line}`),
    '',
    `run "${PROGRAM} <command> --help" for a command's options.`,
    'exit status: 0 done, 1 the command failed, 2 the command line was wrong, 130 interrupted (Ctrl-C).',
  ].join('\n');
}

export function commandUsage(command: Command): string {
  // A command that opens a board takes all the board options (flash names only the port it checks).
  const takesBoard = 'link-baud' in command.options;
  return [
    `usage: ${PROGRAM} ${command.name} ${command.synopsis}`.trimEnd(),
    '',
    `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
    ...(command.details.length > 0 ? ['', ...command.details.map((line) => `  ${line}`)] : []),
    ...(takesBoard ? ['', 'board options:', ...BOARD_OPTIONS.map((line) => `  ${line}`)] : []),
  ].join('\n');
}
