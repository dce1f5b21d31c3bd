/**
 * Opens the board a command talks to: the one --port names, or, without
 * --port, a virtual board in this process (said on stderr, so nobody mistakes
 * its answers for a real board's).
 */

import { Board } from '../../driver/board/board.ts';
import { LinkTimeoutError } from '../../driver/link/errors.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { openTransport } from '../transport/open-transport.ts';
import type { Transport } from '../transport/transport-shape.ts';
import { DEFAULT_FIRMWARE, displayPath, loadVirtualBoard } from '../virtual/load-board.ts';
import { UsageError } from './errors.ts';
import type { CliIo } from './io.ts';
import type { BoardOptions } from './options.ts';

export interface ConnectOptions extends BoardOptions {
  /** In-process virtual board only: USART1 TX wired back to its RX instead of to the virtual peer. */
  readonly loopback?: boolean;
}

export interface Connection {
  readonly transport: Transport;
  /** The port, the TCP address, or "in-process virtual board". */
  readonly description: string;
  readonly virtual: boolean;
  /** The in-process virtual board (its USART1 peer, its virtual clock); undefined with --port. */
  readonly virtualBoard: VirtualBoard | undefined;
  /** Closes the transport and stops the virtual board, if any. Never throws. */
  close(): Promise<void>;
}

export async function connect(options: ConnectOptions, io: CliIo): Promise<Connection> {
  if (options.port !== undefined && options.firmware !== undefined) {
    throw new UsageError(
      `--firmware is for the in-process virtual board; the board on ${options.port} runs the firmware ` +
        'flashed on it (dma-bridge flash puts the bridge there)',
    );
  }
  if (options.port !== undefined) {
    const transport = await openTransport(options.port, {
      ...(options['link-baud'] !== undefined && { baudRate: options['link-baud'] }),
    });
    return {
      transport,
      description: options.port,
      virtual: false,
      virtualBoard: undefined,
      close: () => transport.close().catch(() => {}),
    };
  }
  const board = await loadVirtualBoard({
    loopback: options.loopback === true,
    ...(options.firmware !== undefined && { firmware: options.firmware }),
  });
  const firmware = displayPath(options.firmware ?? DEFAULT_FIRMWARE);
  const wiring = options.loopback ? ', USART1 TX wired to RX' : '';
  io.note(`no --port given: using an in-process virtual Nucleo-G071RB running ${firmware}${wiring}`);
  const transport = board.hostPort();
  return {
    transport,
    description: 'in-process virtual board',
    virtual: true,
    virtualBoard: board,
    close: async () => {
      await transport.close().catch(() => {});
      await board.dispose().catch(() => {});
    },
  };
}

/** Opens a session on the connection and checks the board; explains a board that does not answer. */
export async function openBoard(connection: Connection): Promise<Board> {
  try {
    return await Board.open(connection.transport);
  } catch (error) {
    if (error instanceof LinkTimeoutError) {
      throw new Error(
        `no bridge answers on ${connection.description}: is the bridge firmware flashed, ` +
          'and is this the ST-LINK port of the board (dma-bridge list)?',
        { cause: error },
      );
    }
    throw error;
  }
}

/** Runs `work` with the chosen board, and always lets go of it and of its connection. */
export async function withBoard<T>(
  options: ConnectOptions,
  io: CliIo,
  work: (board: Board, connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await connect(options, io);
  try {
    const board = await openBoard(connection);
    const linkBaud = options['link-baud'];
    if (connection.virtual && linkBaud !== undefined && linkBaud !== board.hello.linkBaud) {
      await board.close().catch(() => {});
      throw new UsageError(
        `--link-baud ${linkBaud}: the in-process virtual board's link runs at ${board.hello.linkBaud} baud, ` +
          'the rate its firmware speaks; give --link-baud with --port for a real board',
      );
    }
    try {
      return await work(board, connection);
    } finally {
      await board.close().catch(() => {});
    }
  } finally {
    await connection.close();
  }
}
