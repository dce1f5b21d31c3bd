/**
 * Options of the commands that move data through USART1 (write, read,
 * monitor), and the peer their --inject and --loopback stand for.
 */
import { z } from 'zod';
import { Serial1, type SerialRx } from '../../driver/api/serial1.ts';
import type { Board } from '../../driver/board/board.ts';
import { type LentHalves, LoopbackPeer, type UsartPeer, VirtualPeer } from '../peers/index.ts';
import type { Connection } from './connect.ts';
import type { CliIo } from './io.ts';
import { boardOptionSpecs, boardOptionsSchema, usartBaudRate } from './options.ts';

export const DEFAULT_USART_BAUD = 115_200;

export const serialOptionSpecs = {
  ...boardOptionSpecs,
  baud: { type: 'string' },
  loopback: { type: 'boolean' },
} as const;

export const serialOptionsSchema = boardOptionsSchema.extend({
  baud: usartBaudRate.default(DEFAULT_USART_BAUD),
  loopback: z.boolean().default(false),
});

export const SERIAL_DETAILS = [
  '--baud N          USART1 baud rate, 8N1 (default 115200)',
  '--loopback        USART1 TX is wired to RX: without --port the virtual board is wired so;',
  '                  with --port, a jumper from PC4 (D1) to PC5 (D0) on the Nucleo',
] as const;

export const INJECT_DETAILS = [
  '--inject TEXT     once reception has started, TEXT arrives on USART1 RX: sent by the virtual',
  "                  board's peer (no --port) or, with --loopback, by the board itself",
] as const;

/** --inject needs somebody to send: the in-process board's peer, or the board itself through a jumper. */
export function injectHasSender(args: {
  inject?: string | undefined;
  port?: string | undefined;
  loopback: boolean;
}) {
  return args.inject === undefined || args.port === undefined || args.loopback;
}

export const INJECT_NEEDS_SENDER = {
  message:
    'on a board given by --port nobody sends for you: drop --port to use the virtual board, ' +
    'or wire PC4 (D1) to PC5 (D0) and add --loopback',
  path: ['inject'],
};

/**
 * Who is on USART1's other end for this command: the board itself with
 * --loopback (through the lent half), the in-process virtual board's peer,
 * or nobody we can drive (a real board's USART1 goes wherever it is wired).
 */
export function commandPeer(
  connection: Connection,
  board: Board,
  lent: LentHalves,
  loopback: boolean,
): UsartPeer | undefined {
  if (loopback) return new LoopbackPeer(board, lent);
  if (connection.virtualBoard) return new VirtualPeer(connection.virtualBoard.peer);
  return undefined;
}

/**
 * Takes Serial1 for a reception: the receive half, and the peer that will
 * send --inject's text (the transmit half is lent to it for --loopback).
 */
export async function takeReceiver(
  board: Board,
  connection: Connection,
  args: { baud: number; inject?: string | undefined; loopback: boolean },
  io: Pick<CliIo, 'note'>,
): Promise<{ rx: SerialRx; peer: UsartPeer | undefined }> {
  const serial = await Serial1.take(board, { baudRate: args.baud, onWarning: (m) => io.note(m) });
  const { tx, rx } = serial.split();
  const peer = args.inject === undefined ? undefined : commandPeer(connection, board, { tx }, args.loopback);
  return { rx, peer };
}
