/**
 * Opens the board a command talks to: the one --port names, or, without
 * --port, a virtual board in this process (said on stderr, so nobody mistakes
 * its answers for a real board's).
 */

import { Board } from '../../driver/board/board.ts';
import { LinkRateError } from '../../driver/board/errors.ts';
import {
  probeSystemBootloader,
  SystemBootloaderError,
  type SystemBootloaderFound,
} from '../../driver/bootloader/index.ts';
import { LinkTimeoutError } from '../../driver/link/errors.ts';
import { realTimers, type Timers } from '../../driver/transport/timers.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { isTcpSpec, openTransport } from '../transport/open-transport.ts';
import { TcpTransport } from '../transport/tcp-transport.ts';
import type { Transport } from '../transport/transport-shape.ts';
import { DEFAULT_FIRMWARE, displayPath, loadVirtualBoard } from '../virtual/load-board.ts';
import { virtualTimers } from '../virtual/virtual-timers.ts';
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
  /**
   * The clock the driver's deadlines run on: the in-process virtual board's
   * (it runs faster or slower than the wall clock, and a deadline means
   * board time), or the wall clock for a real board.
   */
  readonly timers: Timers;
  /** Closes the transport and stops the virtual board, if any. Never throws. */
  close(): Promise<void>;
  /**
   * After no bridge answered: whether ST's system bootloader listens there
   * instead (it closes the connection's transport to ask at 8E1). Absent
   * where no bootloader can be (a board served over TCP).
   */
  probeBootloader?(): Promise<SystemBootloaderFound | undefined>;
  /** What a TCP server said instead of serving (a board in use by another client). */
  serverNotice?(): string | undefined;
}

/** Asks `transport` (opened at 8E1) for the system bootloader, then closes it. */
async function probeOn(transport: Transport, timers: Timers): Promise<SystemBootloaderFound | undefined> {
  try {
    return await probeSystemBootloader(transport, timers);
  } catch {
    return undefined;
  } finally {
    await transport.close().catch(() => {});
  }
}

export async function connect(options: ConnectOptions, io: CliIo): Promise<Connection> {
  if (options.port !== undefined && options.firmware !== undefined) {
    throw new UsageError(
      `--firmware is for the in-process virtual board; the board on ${options.port} runs the firmware ` +
        'flashed on it (dma-bridge flash puts the bridge there)',
    );
  }
  if (options.port !== undefined) {
    // Opened at the board's boot rate; Board.open negotiates from there.
    const transport = await openTransport(options.port);
    const port = options.port;
    return {
      transport,
      description: port,
      virtual: false,
      virtualBoard: undefined,
      timers: realTimers,
      close: () => transport.close().catch(() => {}),
      ...(transport instanceof TcpTransport && { serverNotice: () => transport.serverNotice }),
      ...(!isTcpSpec(port) && {
        probeBootloader: async () => {
          await transport.close().catch(() => {});
          const at8e1 = await openTransport(port, { parity: 'even' }).catch(() => undefined);
          return at8e1 && probeOn(at8e1, realTimers);
        },
      }),
    };
  }
  const board = await loadVirtualBoard({
    loopback: options.loopback === true,
    onStrictReport: (line) => io.note(`virtual board, strict: ${line}`),
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
    timers: virtualTimers(board),
    probeBootloader: async () => {
      await transport.close().catch(() => {});
      return probeOn(board.hostPort({ parity: 'even' }), virtualTimers(board));
    },
    close: async () => {
      await transport.close().catch(() => {});
      await board.dispose().catch(() => {});
    },
  };
}

/**
 * Opens a session on the connection, checks the board and moves the link to
 * the rate asked for; explains a board that does not answer, and says when
 * the link stays below the rate asked for.
 */
export async function openBoard(
  connection: Connection,
  io: CliIo,
  linkBaud: BoardOptions['link-baud'] = 'max',
): Promise<Board> {
  try {
    const board = await Board.open(connection.transport, { linkBaud, timers: connection.timers });
    const note = board.linkRate.note;
    if (note !== undefined && linkBaud === 'max')
      io.note(`host link at ${board.linkRate.baud} baud: ${note}`);
    return board;
  } catch (error) {
    const notice = connection.serverNotice?.();
    if (notice !== undefined) throw new Error(`${connection.description}: ${notice}`, { cause: error });
    if (error instanceof LinkTimeoutError) {
      const bootloader = await connection.probeBootloader?.();
      if (bootloader) throw new SystemBootloaderError(connection.description, bootloader.productId);
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
    let board: Board;
    try {
      board = await openBoard(connection, io, options['link-baud']);
    } catch (error) {
      if (error instanceof LinkRateError && error.kind === 'unavailable') {
        throw new UsageError(`--link-baud ${options['link-baud']}: ${error.message}`);
      }
      throw error;
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
