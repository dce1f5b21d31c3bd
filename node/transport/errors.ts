/**
 * Typed errors of the Node transports. Each names the connection and, where
 * the user can do something about it, says what. They derive from the
 * driver's errors, so one `instanceof DriverError` covers them too.
 */
import { DriverError, TransportClosedError } from '../../driver/transport/errors.ts';

/** Why a serial port could not be opened, as far as the OS message tells. */
export type PortOpenReason = 'not-found' | 'permission' | 'busy' | 'unknown';

const PORT_OPEN_HINTS: Record<PortOpenReason, string> = {
  'not-found': 'run "dma-bridge list" to see the serial ports of this machine',
  permission:
    'your user may not use serial ports: add it to the dialout group (sudo usermod -aG dialout "$USER") and log in again',
  busy: 'another program holds the port (a serial monitor, ModemManager, another dma-bridge): close it and retry',
  unknown: 'check that the board is plugged in and that the path names its serial port',
};

export class PortOpenError extends DriverError {
  override name = 'PortOpenError';
  readonly hint: string;
  constructor(
    readonly path: string,
    readonly reason: PortOpenReason,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    const hint = PORT_OPEN_HINTS[reason];
    super(`cannot open serial port ${path}: ${detail}; ${hint}`, options);
    this.hint = hint;
  }
}

/** Reads the OS (or binding) message of a failed open to tell the user what to do. */
export function classifyPortOpenError(message: string): PortOpenReason {
  if (/EACCES|permission denied|access denied/i.test(message)) return 'permission';
  if (/ENOENT|no such file|does not exist|not found|cannot find/i.test(message)) return 'not-found';
  if (/EBUSY|lock|busy|resource temporarily unavailable|in use/i.test(message)) return 'busy';
  return 'unknown';
}

/**
 * The connection went away while open (USB unplugged, board reset through
 * the ST-LINK, TCP peer gone). Readers and writers of the transport get it;
 * the driver's Link turns it into its own typed failure.
 */
export class ConnectionLostError extends TransportClosedError {
  override name = 'ConnectionLostError';
  constructor(
    readonly connection: string,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${connection} was disconnected${cause}`, options);
  }
}

/** The transport was closed by its owner; later writes fail with this. */
export function closedError(connection: string): TransportClosedError {
  return new TransportClosedError(`${connection} is closed`);
}

export { DriverError, TransportClosedError };

export type TcpConnectReason = 'refused' | 'timeout' | 'not-found' | 'unreachable' | 'unknown';

const TCP_HINTS: Record<TcpConnectReason, string> = {
  refused: 'nothing listens there: is ser2net (or "dma-bridge virtual") running on that host and port?',
  timeout: 'the host does not answer: check the address, the network and any firewall',
  'not-found': 'the host name does not resolve: check its spelling',
  unreachable: 'no route to that host: check the network',
  unknown: 'check the address and that the server is running',
};

export class TcpConnectError extends DriverError {
  override name = 'TcpConnectError';
  readonly hint: string;
  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: TcpConnectReason,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    const hint = TCP_HINTS[reason];
    super(`cannot connect to tcp://${formatHost(host)}:${port}: ${detail}; ${hint}`, options);
    this.hint = hint;
  }
}

export function classifyTcpError(code: string | undefined): TcpConnectReason {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'not-found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      return 'unknown';
  }
}

export class TcpAddressError extends DriverError {
  override name = 'TcpAddressError';
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(
      `"${text}" is not a TCP address (${reason}); write tcp://host:port, e.g. tcp://raspberrypi.local:4000`,
    );
    this.name = 'TcpAddressError';
  }
}

/** Brackets IPv6 literals so that host:port stays readable. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** serialport, an optional dependency, is not installed: says how to add it. */
export class SerialportMissingError extends Error {
  override name = 'SerialportMissingError';
  constructor(cause: unknown) {
    super(
      'serial ports need the optional package "serialport", which is not installed; ' +
        'add it with: npm install serialport',
      { cause },
    );
  }
}
